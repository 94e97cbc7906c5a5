"""Every service's defaults, pinned as they were before settings moved to pydantic-settings
(read from the dataclass settings of commit 7bb30ce with an empty environment), so the
rewrite — and any later one — cannot change a default unnoticed. The one intended change:
the base ServiceSettings no longer types the tasks API's ports (50051/9464); its ports are 0
(free) and each service's come from its registry entry."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from libs.observability.logging import LEVELS
from libs.runtime import registry
from libs.runtime.cli import resolve
from libs.runtime.config import LogLevel, ServiceSettings, load_settings
from libs.security.settings import AUTH_MODES
from services.computer.config import ComputerSettings
from services.inference.backends.select import BACKENDS
from services.inference.config import Backend, ComputeUnits, InferenceSettings
from services.inference.tools.detector_model import COMPUTE_UNITS
from services.tasks.config import Dependency, TasksApiSettings, TasksWorkerSettings
from services.tasks.main import KNOWN_DEPENDENCIES
from services.telemetry.config import TelemetrySettings

SECURITY: dict[str, Any] = {
    "allow_reflection_unauthenticated": False,
    "auth_mode": "none",
    "client_tls": False,
    "client_token_file": None,
    "insecure_allow_open": False,
    "jwt_audience": None,
    "jwt_hs256_secret_file": None,
    "jwt_issuer": None,
    "jwt_leeway_seconds": 30.0,
    "jwt_public_key_file": None,
    "jwt_roles_claim": "roles",
    "production_mode": False,
    "rate_limit_burst": 0,
    "rate_limit_exempt_roles": ["worker"],
    "rate_limit_per_second": 0.0,
    "service_roles": {},
    "tls_ca_file": None,
    "tls_cert_file": None,
    "tls_client_ca_file": None,
    "tls_client_cert_file": None,
    "tls_client_key_file": None,
    "tls_key_file": None,
    "tls_server_name": None,
    "tokens_file": None,
}
COMMON: dict[str, Any] = {
    "environment": "development",
    "grpc_host": "127.0.0.1",
    "health_check_interval_seconds": 5.0,
    "health_check_timeout_seconds": 2.0,
    "http_host": "127.0.0.1",
    "keepalive_time_seconds": 60.0,
    "keepalive_timeout_seconds": 20.0,
    "liveness_stall_seconds": 30.0,
    "log_dir": None,
    "log_level": "info",
    "max_message_bytes": 33554432,
    "metrics_a66_enabled": True,
    "metrics_go_names_enabled": True,
    "shutdown_grace_seconds": 10.0,
    "shutdown_propagation_seconds": 1.0,
}
TASKS: dict[str, Any] = {
    "database_connect_timeout_seconds": 5.0,
    "database_max_overflow": 5,
    "database_pool_size": 5,
    "database_tcp_user_timeout_seconds": 10.0,
    "database_url": None,
    "loop_backoff_max_seconds": 5.0,
    "loop_failure_tolerance_seconds": 30.0,
    "notify_channel": "bytebot_task_events",
    "queue_length_refresh_seconds": 15.0,
    "user_label_cap": 50,
}
# class -> (its own fields, and those whose defaults differ from COMMON)
OWN: dict[type[ServiceSettings], dict[str, Any]] = {
    ServiceSettings: {"grpc_port": 0, "http_port": 0},
    ComputerSettings: {
        "applications": {},
        "click_interval_seconds": 0.15,
        "display": None,
        "display_timeout_seconds": 15.0,
        "file_root": "~/Desktop",
        "grpc_port": 50053,
        "http_port": 9466,
        "keyboard_rebind_grace_seconds": 0.3,
        "max_message_bytes": 67108864,
        "png_compress_level": 1,
        "scroll_interval_seconds": 0.15,
        "type_keys_delay_seconds": 0.1,
        "type_text_delay_seconds": 0.0,
        "xvfb_screen": "1280x960x24",
    },
    InferenceSettings: {
        "backend": "auto",
        "coreml_compute_units": "CPU_AND_NE",
        "coreml_model_path": None,
        "find_thorough_on_miss": True,
        "grpc_port": 50054,
        "http_port": 9467,
        "inference_workers": 2,
        "max_image_bytes": 16777216,
        "max_image_pixels": 40000000,
        "ocr_bands": 4,
        "ocr_cache_entries": 16,
        "ocr_low_confidence": 0.6,
        "ocr_fallback_columns": 2500,
        "ocr_max_fallback_crops": 40,
        "ocr_threads": 2,
        "ocr_upscale": 1.25,
        "ocr_upscale_height": 24.0,
        "ocr_use_rapidocr": True,
        "tessdata_dir": None,
    },
    TasksApiSettings: {
        **TASKS,
        "default_max_attempts": 3,
        "grpc_port": 50051,
        "http_port": 9464,
        "watch_poll_max_seconds": 1.0,
        "watch_poll_seconds": None,
    },
    TasksWorkerSettings: {
        **TASKS,
        "computer_address": "127.0.0.1:50053",
        "drain_seconds": 30.0,
        "grpc_port": 50052,
        "heartbeat_interval_seconds": 10.0,
        "http_port": 9465,
        "inference_address": "127.0.0.1:50054",
        "lease_seconds": 30.0,
        "poll_interval_seconds": 0.1,
        "poll_max_interval_seconds": 1.0,
        "reap_interval_seconds": 5.0,
        "retry_backoff_max_seconds": 60.0,
        "retry_backoff_seconds": 1.0,
        "step_max_attempts": 3,
        "step_retry_backoff_seconds": 0.5,
        "step_retry_budget_min_per_second": 1.0,
        "step_retry_budget_ratio": 0.1,
        "step_timeout_seconds": 60.0,
        "task_timeout_seconds": 3600.0,
        "worker_concurrency": 4,
        "worker_dependencies": ["database", "computer", "inference"],
        "worker_id": None,
    },
    TelemetrySettings: {
        "cpu_limit_cores": 1.0,
        "event_name_label_cap": 100,
        "events_burst": 1000,
        "events_rate_per_second": 100.0,
        "grpc_port": 50055,
        "http_port": 9468,
        "memory_limit_bytes": 0,
        "metrics_urls": {
            "computer": "http://127.0.0.1:9466/metrics",
            "inference": "http://127.0.0.1:9467/metrics",
            "tasks-api": "http://127.0.0.1:9464/metrics",
            "tasks-worker": "http://127.0.0.1:9465/metrics",
            "telemetry": "http://127.0.0.1:9468/metrics",
        },
        "probe_interval_seconds": 5.0,
        "probe_timeout_seconds": 1.0,
        "prometheus_selector": 'job=~"bytebot.*"',
        "prometheus_timeout_seconds": 5.0,
        "prometheus_url": None,
        "scrape_timeout_seconds": 2.0,
        "services": {
            "computer": "127.0.0.1:50053",
            "inference": "127.0.0.1:50054",
            "tasks-api": "127.0.0.1:50051",
            "tasks-worker": "127.0.0.1:50052",
            "telemetry": "127.0.0.1:50055",
        },
        "slo_sample_interval_seconds": 15.0,
    },
}


@pytest.mark.parametrize("cls", list(OWN), ids=lambda cls: cls.__name__)
def test_defaults_are_unchanged(cls):
    values = load_settings(cls, environ={}).model_dump()
    security = values.pop("security")
    values.pop("version")  # the installed package's version
    assert security == SECURITY
    assert values == {**COMMON, **OWN[cls]}


@pytest.mark.parametrize("name", registry.names())
def test_each_service_takes_its_ports_from_its_registry_entry(name):
    definition = registry.definition(name)
    settings = load_settings(resolve(definition.entry).settings_cls, environ={})
    assert (settings.grpc_port, settings.http_port) == (definition.grpc_port, definition.http_port)


@pytest.mark.parametrize(
    ("choices", "consumer"),
    [
        (get_args(LogLevel), tuple(LEVELS)),  # libs.observability.logging.configure
        (get_args(Backend), BACKENDS),  # services.inference.backends.select
        (get_args(ComputeUnits), COMPUTE_UNITS),  # services.inference.tools.detector_model
        (get_args(Dependency), tuple(KNOWN_DEPENDENCIES)),  # services.tasks.main
        (AUTH_MODES, ("none", "token", "jwt", "token+jwt")),  # libs.security.authn
    ],
)
def test_mode_types_accept_exactly_what_their_consumers_know(choices, consumer):
    # a value the settings accept but the code rejects would be a start-up crash again
    assert sorted(choices) == sorted(consumer)
