"""Settings: defaults < pacsbridge.toml < PACSBRIDGE_* environment < command-line flags.

Built and validated once at start-up by :func:`load_settings`; ``app.py`` passes the result
down. Nothing else in pacsbridge reads ``os.environ``. Errors name the key, the value and
the file they came from.
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from pacsbridge.profiles.destination import Destination
from pacsbridge.profiles.model import DicomPeer, Partner


class ConfigError(Exception):
    """A configuration value that cannot be used; the text says which and why."""


class Settings(BaseSettings):
    """Every option of ``pacsbridge serve``; see DESIGN.md's interface contract."""

    model_config = SettingsConfigDict(env_prefix="PACSBRIDGE_", extra="forbid")

    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None, description="sqlite:///… or postgresql://…; default: SQLite in the data dir"
    )
    host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=0, le=65535)
    mllp_port: int = Field(default=2575, ge=0, le=65535)
    dicom_port: int = Field(default=11112, ge=0, le=65535)
    ae_title: str = Field(default="PACSBRIDGE", min_length=1, max_length=16)
    base_url: str | None = Field(
        default=None, description="public base URL of the HTTP face, for links; default: from Host"
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "console"
    search_default_count: int = Field(default=20, ge=1, le=1000)
    search_max_count: int = Field(default=1000, ge=1, le=10000)
    max_bundle_entries: int = Field(default=1000, ge=1)
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    database_pool_size: int = Field(default=10, ge=1, le=200)
    read_timeout_seconds: int = Field(
        default=30, ge=1, description="PostgreSQL cancels a read (a search) running longer"
    )
    sqlite_synchronous: Literal["full", "normal"] = Field(
        default="full",
        description="full: every commit reaches the disk before the ACK (survives power loss);"
        " normal: WAL commits survive a killed process but not a power loss, and are faster",
    )
    sqlite_cache_mib: int = Field(
        default=64, ge=1, le=4096,
        description="SQLite page cache per connection; the pool keeps about 22 connections",
    )  # fmt: skip
    mllp_max_frame_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    mllp_idle_timeout_seconds: float = Field(default=300.0, gt=0)
    mllp_tls_certificate: Path | None = None
    mllp_tls_key: Path | None = None
    mllp_tls_client_ca: Path | None = Field(
        default=None, description="when set, MLLP clients must present a certificate it signed"
    )
    mllp_allow: list[str] = Field(
        default_factory=list, description="addresses or networks allowed to connect; empty: all"
    )
    message_retention_days: int = Field(
        default=0,
        ge=0,
        description="delete logged HL7 messages (and outbound ones sent or cancelled) older "
        "than this; 0 keeps all",
    )
    audit_retention_days: int = Field(
        default=0,
        ge=0,
        description="delete audit events (accesses to patient data) recorded more than this "
        "many days ago; 0 keeps all. Check the law that binds you first (HIPAA: 6 years)",
    )
    partners: list[Partner] = Field(default_factory=list)
    dicom_allowed_aets: list[str] = Field(
        default_factory=list, description="calling AE titles allowed to associate; empty: all"
    )
    dicom_allow: list[str] = Field(
        default_factory=list, description="addresses or networks allowed to associate; empty: all"
    )
    dicom_duplicate_policy: Literal["keep-first", "replace"] = Field(
        default="keep-first",
        description="an instance received again: keep the first copy or"
        " replace it with the new one (both answered success)",
    )
    dicom_max_associations: int = Field(
        default=50, ge=1, le=1000,
        description="associations at once; more are refused until one ends",
    )  # fmt: skip
    dicom_acse_timeout_seconds: float = Field(
        default=10.0, gt=0,
        description="a peer that connects and does not ask to associate is dropped after this",
    )  # fmt: skip
    dicom_peers: list[DicomPeer] = Field(default_factory=list)
    destinations: list[Destination] = Field(default_factory=list)
    outbox_workers: bool = Field(
        default=True, description="send the outbox from this process (off: enqueue only)"
    )
    auth: Literal["open", "required"] = Field(
        default="open",
        description="open: a request without a token is trusted (a closed network only);"
        " required: every FHIR, DICOMweb, console and API request needs a token or a login",
    )
    access_token_seconds: int = Field(default=3600, ge=60, le=86400)
    backend_token_seconds: int = Field(
        default=300, ge=30, le=3600, description="lifetime of SMART Backend Services tokens"
    )
    refresh_token_days: int = Field(default=30, ge=1, le=3650)
    login_max_failures: int = Field(
        default=5, ge=1, description="wrong passwords in a row before logins are slowed down"
    )
    audit: bool = Field(default=True, description="record every access to patient data")
    http_tls_certificate: Path | None = None
    http_tls_key: Path | None = None
    forwarded_allow_ips: list[str] = Field(
        default_factory=list,
        description="reverse proxies whose X-Forwarded-For/-Proto headers are trusted",
    )
    dicom_tls_certificate: Path | None = None
    dicom_tls_key: Path | None = None
    dicom_tls_client_ca: Path | None = Field(
        default=None, description="when set, DICOM peers must present a certificate it signed"
    )

    @field_validator("mllp_allow", "dicom_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)  # ValueError names the bad one
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        for face in ("mllp", "http", "dicom"):
            if (getattr(self, f"{face}_tls_certificate") is None) != (
                getattr(self, f"{face}_tls_key") is None
            ):
                raise ValueError(f"{face}_tls_certificate and {face}_tls_key go together")
        for kind, names in (("partner", [p.name for p in self.partners]),
                            ("destination", [d.name for d in self.destinations])):  # fmt: skip
            if len(names) != len(set(names)):
                raise ValueError(f"{kind} names must be unique")
        return self

    @field_validator("ae_title")
    @classmethod
    def _ae_title_is_dicom_ae(cls, value: str) -> str:
        if value != value.strip() or "\\" in value or not value.isprintable():
            raise ValueError("an AE title is up to 16 printable characters without backslash")
        return value

    def public_url(self, mount: str) -> str:
        """Links to a face when no request says how we are called: base_url, else localhost."""
        base = self.base_url or f"http://localhost:{self.http_port}"
        return base.rstrip("/") + mount

    def effective_database_url(self) -> str:
        """The URL to connect to: the configured one, or SQLite inside the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'pacsbridge.db').resolve()}"


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the ``[server]`` table (or top-level keys) of pacsbridge.toml."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


_TABLES = ("partners", "dicom_peers", "destinations")


def read_toml(path: Path) -> dict[str, Any]:
    """The server options of a config file; other tables belong to later faces."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from exc
    server = document.get("server", {})
    if not isinstance(server, dict):
        raise ConfigError(f"{path}: [server] must be a table")
    top = {k: v for k, v in document.items() if k not in ("server", *_TABLES)}
    values = {key.replace("-", "_"): value for key, value in {**top, **server}.items()}
    for table in _TABLES:
        if table in document:
            values[table] = document[table]
    return values


def load_settings(config_file: Path | None = None, **flags: Any) -> Settings:
    """Merge the four sources in order; ``None`` flags mean "not given"."""
    file_values = read_toml(config_file) if config_file else {}
    given = {k: v for k, v in flags.items() if v is not None}

    class _Merged(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _TomlSource(settings_cls, file_values))

    try:
        merged = _Merged(**given)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, config_file)) from exc
    return Settings.model_validate(merged.model_dump())


def _describe(exc: ValidationError, config_file: Path | None) -> str:
    where = f" (flags, PACSBRIDGE_* environment or {config_file})" if config_file else ""
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        lines.append(f"{key}={error.get('input')!r}: {error['msg']}")
    return "invalid configuration" + where + ": " + "; ".join(lines)
