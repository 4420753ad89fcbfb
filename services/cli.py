"""The ``integra`` command: run the stack, one component, seed demo data, export the SDL."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
from collections.abc import Callable, Iterator, Sequence

import uvicorn
from starlette.applications import Starlette

from services.runtime.embedded import EmbeddedMongo
from services.runtime.settings import IntegraSettings

log = logging.getLogger("integra")


@contextlib.contextmanager
def database(settings: IntegraSettings) -> Iterator[IntegraSettings]:
    """Settings with a database: ``MONGODB_URI`` if set, else an embedded nx-27017.

    The embedded server keeps its data under ``INTEGRA_DATA_DIR`` and stops when the block
    ends, also on Ctrl-C.
    """
    if settings.mongodb_uri is not None:
        yield settings
        return
    with EmbeddedMongo(settings.data_dir.resolve() / "db") as embedded:
        yield settings.model_copy(update={"mongodb_uri": embedded.uri})


def _serve(app: Starlette, settings: IntegraSettings) -> None:
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        lifespan="on",
    )


def up(settings: IntegraSettings) -> None:
    """The whole stack in one process on one port."""
    from services.stack import create_stack_app

    with database(settings) as ready:
        base = f"http://{ready.host}:{ready.port}"
        log.info("Integra on %s: GraphQL (GraphiQL) at %s/graphql", base, base)
        _serve(create_stack_app(ready), ready)


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
    module = importlib.import_module(_FACTORIES[component])
    factory: Callable[[IntegraSettings], Starlette] = module.create_app
    _serve(factory(settings), settings)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``integra`` console script."""
    parser = argparse.ArgumentParser(prog="integra", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="run the whole stack in one process")
    serve_parser = commands.add_parser("serve", help="run one component as its own process")
    serve_parser.add_argument("component", choices=tuple(_FACTORIES))
    seed_parser = commands.add_parser("seed", help="load demo data through the public API")
    seed_parser.add_argument(
        "--url", default=None, help="GraphQL endpoint (default: http://HOST:PORT/graphql)"
    )
    commands.add_parser("export-schema", help="write gateway/schema.graphql from the code")
    args = parser.parse_args(argv)

    settings = IntegraSettings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.command == "up":
        up(settings)
    elif args.command == "serve":
        serve(args.component, settings)
    elif args.command == "seed":
        from services.seed import seed

        url = args.url or f"http://{settings.host}:{settings.port}/graphql"
        sys.exit(seed(url))
    elif args.command == "export-schema":
        from gateway.schema import SDL_PATH, export_sdl

        export_sdl()
        print(f"wrote {SDL_PATH}")
