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
    # How often each worker seals new ledger transfers into the hash chain.
    seal_interval_s: float = 2.0
    # How often each worker applies appeals' surplus rules to newly posted money.
    allocate_interval_s: float = 60.0
    # Receipt checks a client may make per minute on a public transparency page.
    receipt_checks_per_minute: int = 10


@lru_cache
def get_settings() -> Settings:
    return Settings()
