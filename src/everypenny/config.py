"""Settings come from EVERYPENNY_* environment variables, so one build runs anywhere."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVERYPENNY_", extra="ignore")

    database_url: str = "sqlite:///./everypenny.db"
    public_url: str = "http://127.0.0.1:8000"
    # Signs tokens in links we send donors; set a long random value in production.
    secret_key: str = "dev-only-secret-change-me"
    log_level: str = "INFO"
    # Appeal desk: web pages allowed to read the public totaliser (comma-separated origins) and to frame
    # its widget; how long a desk login lasts; how long browsers and CDNs may cache public totals; how often
    # an embedded widget refreshes.
    totaliser_origins: str = ""
    desk_session_hours: int = 12
    totaliser_max_age_seconds: int = 5
    widget_poll_seconds: int = 10


@lru_cache
def get_settings() -> Settings:
    return Settings()
