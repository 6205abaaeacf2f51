"""One error hierarchy: every error the package raises on purpose is a RealtimeUploadsError, importable from
realtime_uploads.exceptions, and defined in one of two modules (the Django-free ones in core/errors.py)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import realtime_uploads
from realtime_uploads import exceptions
from realtime_uploads.exceptions import Overloaded, RealtimeUploadsError

HOMES = {"realtime_uploads.exceptions", "realtime_uploads.core.errors"}


def _package_exceptions() -> dict[str, type]:
    found = {}
    for info in pkgutil.walk_packages(realtime_uploads.__path__, "realtime_uploads."):
        if ".migrations" in info.name:
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == info.name:
                found[f"{info.name}.{name}"] = obj
    return found


def test_every_public_error_is_a_realtime_uploads_error_defined_in_one_of_two_modules():
    errors = {path: cls for path, cls in _package_exceptions().items() if not path.rpartition(".")[2].startswith("_")}
    assert len(errors) >= 20
    outside = sorted(path for path, cls in errors.items() if cls.__module__ not in HOMES)
    assert not outside, f"errors defined outside exceptions.py and core/errors.py: {outside}"
    not_based = sorted(path for path, cls in errors.items() if not issubclass(cls, RealtimeUploadsError))
    assert not not_based, f"errors outside the hierarchy: {not_based}"


def test_the_exceptions_module_exports_every_one_of_them():
    errors = {cls for path, cls in _package_exceptions().items() if not path.rpartition(".")[2].startswith("_")}
    assert errors <= {getattr(exceptions, name) for name in exceptions.__all__}


@pytest.mark.parametrize("kind", [exceptions.DatabaseQueueFull, exceptions.TooManyWaiters])
def test_every_busy_error_is_one_overloaded_that_carries_retry_after(kind):
    error = kind(3) if kind is exceptions.DatabaseQueueFull else kind("full")
    assert isinstance(error, Overloaded) and error.retry_after >= 1 and error.code == "overloaded"


def test_errors_that_were_value_errors_still_are():
    for cls in (exceptions.SettingError, exceptions.ConfigError, exceptions.CodecMissing, exceptions.EventError):
        assert issubclass(cls, ValueError)
