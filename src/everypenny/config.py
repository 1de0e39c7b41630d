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
    # Text-to-donate: the carrier-billing aggregator's API, and the secret its callbacks to us are signed with.
    aggregator_url: str = "http://127.0.0.1:8001"
    aggregator_api_key: str = "dev-aggregator-key"
    aggregator_callback_secret: str = "dev-aggregator-callback-secret"
    # Text-to-link: Twilio signs its webhooks with the account's auth token.
    twilio_auth_token: str = "dev-twilio-auth-token"


@lru_cache
def get_settings() -> Settings:
    return Settings()
