"""The ``integra`` command: run the stack, one component, seed demo data, export the SDL,
create API keys."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.metadata
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Sequence

import uvicorn
from starlette.applications import Starlette

from services.cli_output import (
    FAILED,
    INTERRUPTED,
    CommandFailed,
    configure_plain_output,
    mongo_failure,
    seed_failure,
    settings_or_fail,
)
from services.runtime.auth import Role
from services.runtime.embedded import EmbeddedMongo
from services.runtime.heap import frozen_after_startup
from services.runtime.json_logging import configure_logging
from services.runtime.service_tokens import with_service_key
from services.runtime.settings import IntegraSettings

log = logging.getLogger("integra")


@contextlib.contextmanager
def database(settings: IntegraSettings) -> Iterator[IntegraSettings]:
    """Settings with a database: ``MONGODB_URI`` if set, else an embedded nx-27017.

    The embedded server keeps its data under ``INTEGRA_DATA_DIR``, is restarted on the same
    port whenever it exits (the clients reconnect by themselves), and stops when the block
    ends, also on Ctrl-C.
    """
    if settings.mongodb_uri is not None:
        yield settings
        return
    # uvicorn stops gracefully on SIGTERM, then re-raises the signal to the handler it found:
    # the default one would end the process on the spot, leaving nx-27017 running.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        with EmbeddedMongo(settings.data_dir.resolve() / "db") as embedded:
            embedded.supervise()  # stopped first when the block ends: no restart on exit
            yield settings.model_copy(update={"mongodb_uri": embedded.uri})
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (``docker stop``, a process manager) ends like Ctrl-C: cleanly."""
    raise SystemExit(128 + signum)


def _serve(app: Starlette, settings: IntegraSettings) -> None:
    # Once started, the long-lived heap is frozen: full collections no longer walk it.
    app.router.lifespan_context = frozen_after_startup(app.router.lifespan_context)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        log_config=None,  # uvicorn's loggers propagate to the JSON handler of main()
    )


def local_admin_key(settings: IntegraSettings) -> None:
    """Make sure ``<data_dir>/admin-api-key`` holds a valid ADMIN key and say how to use it."""
    from gateway.security.bootstrap import ensure_local_admin_key

    if not settings.auth_enabled:
        return
    local = asyncio.run(ensure_local_admin_key(settings))
    if local.path is None:
        return
    url = f"http://{settings.host}:{settings.port}/graphql"
    log.info(
        '%s ADMIN API key in %s; use it: curl -H "Authorization: Bearer $(cat %s)" '
        "-H 'Content-Type: application/json' -d '{\"query\": \"{ shops { totalCount } }\"}' %s",
        "created an" if local.created else "the local",
        local.path,
        local.path,
        url,
    )
    # For the person at the terminal only (never a log line): the fragment never reaches a
    # server, and GraphiQL moves the key into its headers and out of the address bar.
    key = local.path.read_text(encoding="utf-8").strip()
    print(f"GraphiQL with the local ADMIN key: {url}#key={key}", file=sys.stderr, flush=True)


def up(settings: IntegraSettings) -> None:
    """The whole stack in one process on one port."""
    from services.stack import create_stack_app

    with database(settings) as ready:
        base = f"http://{ready.host}:{ready.port}"
        local_admin_key(ready)
        log.info("Integra on %s: GraphQL (GraphiQL) at %s/graphql", base, base)
        _serve(create_stack_app(with_service_key(ready, create=True)), ready)


_FACTORIES = {
    "scoring": "services.scoring.app",
    "risk": "services.risk.app",
    "kpi": "services.kpi.app",
    "gateway": "gateway.app",
}


def serve(component: str, settings: IntegraSettings) -> None:
    """One component as its own process (its module's ``create_app``)."""
    if component != "gateway" and settings.mongodb_uri is None:
        raise SystemExit(f"integra serve {component} needs MONGODB_URI")
    if component == "gateway" and settings.mongodb_uri and "data_dir" in settings.model_fields_set:
        local_admin_key(settings)  # only where INTEGRA_DATA_DIR is set explicitly
    settings = with_service_key(settings, create=False)
    if settings.service_token_key is None:
        raise SystemExit(
            f"integra serve {component} needs INTEGRA_SERVICE_TOKEN_KEY (the key every "
            "component signs its calls with), or a data directory holding one"
        )
    module = importlib.import_module(_FACTORIES[component])
    factory: Callable[[IntegraSettings], Starlette] = module.create_app
    _serve(factory(settings), settings)


def _port(text: str) -> int:
    """``--port``'s value: a TCP port, 1–65535 (argparse words the error)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (1–65535)")
    return port


def _add_address(parser: argparse.ArgumentParser) -> None:
    """``--host`` and ``--port`` of the commands that serve: they win over INTEGRA_HOST and
    INTEGRA_PORT (a flag is what an operator typed last)."""
    parser.add_argument("--host", help="address to bind to (overrides INTEGRA_HOST)")
    parser.add_argument("--port", type=_port, help="port to listen on (overrides INTEGRA_PORT)")


def _installed_version() -> str:
    """The installed distribution's version (pyproject.toml), for ``--version``."""
    try:
        return importlib.metadata.version("integra")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def build_parser() -> argparse.ArgumentParser:
    """The ``integra`` command line: one subcommand per thing an operator does."""
    parser = argparse.ArgumentParser(prog="integra", description=__doc__)
    parser.add_argument("--version", action="version", version=f"integra {_installed_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_address(commands.add_parser("up", help="run the whole stack in one process"))
    serve_parser = commands.add_parser("serve", help="run one component as its own process")
    serve_parser.add_argument("component", choices=tuple(_FACTORIES))
    _add_address(serve_parser)
    seed_parser = commands.add_parser("seed", help="load demo data through the public API")
    seed_parser.add_argument(
        "--url", default=None, help="GraphQL endpoint (default: http://HOST:PORT/graphql)"
    )
    seed_parser.add_argument(
        "--api-key",
        default=None,
        help="bearer token to send (default: the key in INTEGRA_DATA_DIR/admin-api-key)",
    )
    commands.add_parser("export-schema", help="write gateway/schema.graphql from the code")
    key_parser = commands.add_parser(
        "create-api-key", help="create an API key in the gateway's database; prints it once"
    )
    key_parser.add_argument("--name", required=True, help="who or what the key is for")
    key_parser.add_argument("--role", choices=[r.value for r in Role], default=Role.VIEWER.value)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``integra`` console script.

    The servers log JSON lines; the one-shot commands print plain lines, and end an expected
    failure with one line on stderr and exit code 1 (``services.cli_output``).
    """
    args = build_parser().parse_args(argv)
    try:
        settings = settings_or_fail(IntegraSettings)
        if args.command in ("up", "serve"):
            configure_logging(settings.log_level)
            _run_server(args, settings)
        else:
            configure_plain_output(settings.log_level)
            _run_once(args, settings)
    except CommandFailed as failure:
        print(f"integra {args.command}: {failure}", file=sys.stderr)
        sys.exit(FAILED)
    except KeyboardInterrupt:  # Ctrl-C before a server took over SIGINT, or in a one-shot
        print(f"integra {args.command}: interrupted", file=sys.stderr)
        sys.exit(INTERRUPTED)


def _run_server(args: argparse.Namespace, settings: IntegraSettings) -> None:
    """``up`` or ``serve``, on the address of the flags, else of the settings."""
    address = {"host": args.host, "port": args.port}
    settings = settings.model_copy(update={k: v for k, v in address.items() if v is not None})
    if args.command == "up":
        up(settings)
    else:
        serve(args.component, settings)


def _run_once(args: argparse.Namespace, settings: IntegraSettings) -> None:
    """A one-shot command; its expected failures become ``CommandFailed``."""
    if args.command == "seed":
        _seed(args, settings)
    elif args.command == "export-schema":
        from gateway.schema import SDL_PATH, export_sdl

        try:
            export_sdl()
        except OSError as exc:
            raise CommandFailed(f"cannot write {SDL_PATH} ({exc.strerror or exc})") from exc
        print(f"wrote {SDL_PATH}")
    elif args.command == "create-api-key":
        _create_api_key(args, settings)


def _seed(args: argparse.Namespace, settings: IntegraSettings) -> None:
    """``integra seed``: the demo data, through the GraphQL API at ``--url``."""
    from services.seed import seed

    url = args.url or f"http://{settings.host}:{settings.port}/graphql"
    try:
        code = seed(url, _seed_headers(args.api_key, settings))
    except Exception as exc:
        failure = seed_failure(url, exc)
        if failure is None:
            raise  # a bug: its traceback stays visible
        raise failure from exc
    if code:
        sys.exit(code)


def _create_api_key(args: argparse.Namespace, settings: IntegraSettings) -> None:
    """``integra create-api-key``: the new key's plaintext, alone on stdout."""
    from gateway.security.bootstrap import create_api_key

    with database(settings) as ready:
        try:
            key = asyncio.run(create_api_key(ready, args.name, Role(args.role)))
        except Exception as exc:
            failure = mongo_failure(exc, ready.mongo_timeout_ms)
            if failure is None:
                raise
            raise failure from exc
    print(key)


def _seed_headers(api_key: str | None, settings: IntegraSettings) -> dict[str, str]:
    """The ``Authorization`` header ``integra seed`` sends: ``--api-key``, else the local admin
    key of the data directory, else none (auth switched off)."""
    from gateway.security.bootstrap import key_file

    path = key_file(settings.data_dir)
    if api_key is None and path.is_file():
        api_key = path.read_text(encoding="utf-8").strip()
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


if __name__ == "__main__":  # `python -m services.cli`, like the `integra` script
    main()
