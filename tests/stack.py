"""The cloud-path services as the tests run them: defined once in ``config/stack.py``."""

from config.stack import (  # noqa: F401 - re-exported for the tests
    AWS_ENV,
    BUCKET,
    INIT_ENV,
    QUEUE,
    STACK_ENV,
    WEB_ARGV,
    WEB_ENV,
    WORKER_ARGV,
    WORKER_ENV,
    init_argv,
    stack_env,
    web_env,
    worker_env,
)
