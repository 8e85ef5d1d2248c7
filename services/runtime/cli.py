"""The ``pdl`` command. Every subcommand works on the same data folder.

Subcommands are registered in :data:`COMMANDS` (name -> function adding its parser), so
new ones (``relay``, ``project``) plug in without touching the others.
"""

import argparse
import faulthandler
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from services.identity.tokens import (
    NAME_PATTERN,
    LastAdminToken,
    Role,
    TokenNameTaken,
)
from services.runtime.admin_token import create_first_admin
from services.runtime.settings import LogSettings, Settings
from services.store.errors import out_of_space

Subparsers = Any  # argparse's _SubParsersAction is private
Handler = Callable[[argparse.Namespace, Settings], int]

#: Parent of every leaf parser, so ``--data-dir`` also works after the subcommand.
DATA_DIR = argparse.ArgumentParser(add_help=False)
DATA_DIR.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS,
                      help="data folder (default: $PDL_DATA_DIR or ./pdl-data)")


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the HTTP API, keeping the views caught up; the first start creates an admin token
    (:mod:`services.runtime.admin_token`).

    With ``--workers N`` (N > 1), N server processes share the data folder: each takes
    commands and serves reads; one of them (the lease holder) keeps the views caught up.
    """
    import uvicorn

    from services.http.app import create_app
    from services.runtime.service import build_runtime

    workers = args.workers or os.cpu_count() or 1
    configure_logging(settings.log)
    # uvicorn shuts down gracefully on SIGTERM / Ctrl-C, then raises the signal again with
    # the handlers it found restored: with these, that ends here, so the close path below
    # still runs (stores closed, WAL files checkpointed away) and we exit 0.
    stop_on_signals(lambda: None)
    runtime = build_runtime(settings)  # creates every table before any worker starts
    try:
        create_first_admin(runtime.tokens, settings, show=args.print_admin_token)
        if workers == 1:
            uvicorn.run(create_app(runtime), host=args.host, port=args.port,
                        **http_options(), **server_options(settings))
            return 0
    finally:
        runtime.close()
    # The worker processes build their own runtimes (worker_app); the data folder reaches
    # them through the environment, like every other setting.
    os.environ["PDL_DATA_DIR"] = str(settings.data_dir)
    os.environ.pop("PDL_DATA_DIR_FILE", None)  # else the workers would see both, and refuse
    from services.runtime.workers import supervise

    with shared_metrics_folder():
        return supervise("services.runtime.cli:worker_app", args.host, args.port, workers,
                         {**http_options(), **server_options(settings)}, stop_on_signals,
                         grace_s=settings.api.shutdown_grace_s)


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's logging and shutdown: its lines through our handler (the app writes the
    one access line per request, :mod:`services.http.observability`), and requests in flight
    given ``PDL_API__SHUTDOWN_GRACE_S`` to finish after SIGTERM."""
    return {"log_config": None, "access_log": False, "log_level": settings.log.level.lower(),
            "timeout_graceful_shutdown": settings.api.shutdown_grace_s}


@contextmanager
def shared_metrics_folder() -> Iterator[None]:
    """A fresh folder where the worker processes keep their Prometheus counters, so that the
    one answering a scrape reports the sum over all (prometheus_client's multiprocess mode,
    :mod:`services.runtime.metrics`); removed once they have stopped. A folder the operator
    named in ``PROMETHEUS_MULTIPROC_DIR`` is used as it is."""
    from services.runtime.metrics import MULTIPROCESS_DIR

    if os.environ.get(MULTIPROCESS_DIR):
        yield
        return
    remove_metrics_folders_of_dead_servers()
    folder = tempfile.mkdtemp(prefix=f"{METRICS_FOLDER}{os.getpid()}-")
    os.environ[MULTIPROCESS_DIR] = folder
    try:
        yield
    finally:
        del os.environ[MULTIPROCESS_DIR]
        shutil.rmtree(folder, ignore_errors=True)


#: How the name of a metrics folder starts; the pid of the ``pdl serve`` that made it follows.
METRICS_FOLDER = "pdl-metrics-"


def remove_metrics_folders_of_dead_servers() -> None:
    """Remove the metrics folders a killed ``pdl serve`` could not remove itself."""
    for folder in Path(tempfile.gettempdir()).glob(f"{METRICS_FOLDER}*-*"):
        pid = folder.name.removeprefix(METRICS_FOLDER).split("-", 1)[0]
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (ValueError, OSError):
            pass  # not ours, or alive under another user


def http_options() -> dict[str, Any]:
    """uvicorn's HTTP/1.1 settings: our h11 protocol, which answers a request head too
    large to read with 414 / 431 (:mod:`services.http.protocol`)."""
    from services.http.protocol import MAX_HEAD_BYTES, LimitedH11Protocol

    return {"http": LimitedH11Protocol, "h11_max_incomplete_event_size": MAX_HEAD_BYTES}


def worker_app() -> Any:
    """The app of one worker process of ``pdl serve --workers N``: its own runtime on the
    shared data folder, closed when the worker shuts down."""
    from services.http.app import create_app
    from services.runtime.service import build_runtime

    settings = Settings()
    configure_logging(settings.log)
    die_with_parent()
    return create_app(build_runtime(settings, shared=True), close_on_shutdown=True)


def die_with_parent() -> None:
    """Have the kernel kill this worker when the ``pdl serve`` process that started it dies,
    however it dies (``kill -9`` included): no orphan keeps serving on its own (Linux)."""
    import ctypes
    import ctypes.util

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return  # not Linux: the supervisor's own shutdown still stops the workers
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


#: prctl(2) option: the signal this process gets when its parent dies.
PR_SET_PDEATHSIG = 1


def token_create(args: argparse.Namespace, settings: Settings) -> int:
    """Create a token and print only the token on stdout."""
    import re

    if not re.match(NAME_PATTERN, args.name):
        return fail(f"invalid token name {args.name!r}: use letters, digits, . _ @ - "
                    "(up to 100 characters, starting with a letter or digit)", code=2)
    from services.runtime.bootstrap import open_identity

    identity = open_identity(settings)
    try:
        token, _ = identity.tokens.create(args.name, Role(args.role))
    except TokenNameTaken as taken:
        return fail(str(taken))
    finally:
        identity.close()
    print(token)
    return 0


def token_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every token's name, role and creation time, one a line (never the token)."""
    from services.runtime.bootstrap import open_identity

    stores = open_identity(settings)
    try:
        for identity in stores.tokens.list():
            print(f"{identity.name}\t{identity.role.value}\t{identity.created_at}")
    finally:
        stores.close()
    return 0


def token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Revoke the token named ``args.name``; the last admin token is kept."""
    from services.runtime.bootstrap import open_identity

    identity = open_identity(settings)
    try:
        revoked = identity.tokens.revoke(args.name)
    except LastAdminToken as last:
        return fail(str(last))
    finally:
        identity.close()
    if not revoked:
        return fail(f"no token named {args.name!r}; 'pdl token list' shows them")
    print(f"revoked {args.name}")
    return 0


def projections_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuild every view from the start of the event log."""
    from projections.feeding.rebuild import ViewsInUse, rebuild, rebuild_in_place
    from projections.pg_views import PgViews
    from services.runtime.bootstrap import build_application, build_views

    app = build_application(settings)
    try:
        if settings.postgres:  # in one transaction: the replicas may keep serving
            views = build_views(settings)
            assert isinstance(views, PgViews)
            try:
                rebuild_in_place(app, views)
            finally:
                views.close()
        else:
            rebuild(app, settings.views_path, workers=args.workers)
        events = app.event_count()
    except ViewsInUse as in_use:
        return fail(f"{in_use} Stop 'pdl serve' first.")
    finally:
        app.close()
    where = "PostgreSQL" if settings.postgres else settings.views_path
    print(f"Rebuilt the views in {where} from {events} events.", file=sys.stderr)
    return 0


def relay(args: argparse.Namespace, settings: Settings) -> int:
    """Publish the event log to Kafka until SIGTERM / Ctrl-C (the outbox relay); with
    ``--from-position N``, everything after position N again first."""
    from services.runtime.bootstrap import build_application, build_relay
    from services.streaming.relay import RelayOptions

    if not settings.kafka.enabled:
        return fail("Kafka is not configured: set PDL_KAFKA__BOOTSTRAP_SERVERS "
                    "(e.g. 127.0.0.1:9092).", code=2)
    configure_logging(settings.log)
    defaults = RelayOptions()
    options = RelayOptions(
        batch_size=args.batch_size or defaults.batch_size,
        poll_interval_s=args.poll_interval or defaults.poll_interval_s,
        backoff_max_s=args.backoff_max or defaults.backoff_max_s,
        from_position=args.from_position)
    app = build_application(settings)
    end = app.recorder.max_notification_id() or 0
    if args.from_position is not None and args.from_position > end:
        app.close()
        return fail(f"--from-position {args.from_position} is beyond the end of the log "
                    f"(position {end}): nothing after it exists yet.", code=2)
    publisher = build_relay(app, settings, options)
    assert publisher is not None
    stop_on_signals(publisher.request_stop)
    try:
        publisher.run_forever()
    finally:
        publisher.close()
        app.close()
    return 0


def project(args: argparse.Namespace, settings: Settings) -> int:
    """Bring the views up to date from the store or from the Kafka topics once, or keep
    following until SIGTERM / Ctrl-C."""
    from projections.feeding.catch_up import StoreCatchUp
    from projections.feeding.kafka import FeedOptions
    from services.runtime.bootstrap import (
        build_application,
        build_checkpointer,
        build_views,
        published_position,
    )
    from services.streaming.kafka_io import views_feed

    configure_logging(settings.log)
    if args.source == "kafka" and not settings.kafka.enabled:
        return fail("Kafka is not configured: set PDL_KAFKA__BOOTSTRAP_SERVERS.", code=2)
    stop = threading.Event()
    stopping: list[Callable[[], None]] = [stop.set]

    def halt() -> None:
        for stop_one in stopping:
            stop_one()

    stop_on_signals(halt)
    views = build_views(settings)
    checkpointer = build_checkpointer(
        settings, *([] if settings.postgres else [settings.views_path]))
    checkpointer.start()
    try:
        if args.source == "store":
            app = build_application(settings)
            catchup = StoreCatchUp(app, views)
            try:
                catchup.run_until_caught_up()
                if args.follow:
                    catchup.start()
                    stop.wait()
                    catchup.stop()
            finally:
                app.close()
        else:
            feed = views_feed(views, settings.kafka, FeedOptions(group_id=args.group),
                              published=published_position(settings))
            stopping.append(feed.request_stop)  # honoured during the first catch-up too
            try:
                feed.run_until_caught_up(PROJECT_TIMEOUT_S)
                if args.follow:
                    feed.start()
                    stop.wait()
            finally:
                feed.close()
        where = "PostgreSQL" if settings.postgres else settings.views_path
        print(f"The views in {where} hold {views.event_count()} changes "
              f"(source: {args.source}).", file=sys.stderr)
    finally:
        checkpointer.stop()
        views.close()
    return 0


#: How long ``pdl project --source kafka`` may take to read the topics to their end.
PROJECT_TIMEOUT_S = 300.0


def export(args: argparse.Namespace, settings: Settings) -> int:
    """Export the changes since the last export, and every entity as it stands now, as
    tables for a data warehouse (:mod:`services.export`)."""
    from services.export.files import FolderBusy
    from services.export.warehouse import ExportRefused, export_warehouse
    from services.runtime.bootstrap import build_application

    app = build_application(settings)
    try:
        result = export_warehouse(app, args.out, format=args.format, since=args.since)
    except ExportRefused as refused:
        return fail(str(refused), code=2)
    except FolderBusy as busy:
        return fail(str(busy))
    finally:
        app.close()
    print(result.summary(), file=sys.stderr)
    return 0


def stop_on_signals(stop: Callable[[], None]) -> None:
    """Call ``stop`` on SIGTERM and SIGINT (Ctrl-C)."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop())


def configure_logging(settings: LogSettings) -> None:
    """Log lines on stderr, as text or JSON (``PDL_LOG__FORMAT``), from ``PDL_LOG__LEVEL``
    up; kafka-python's own chatter only from WARNING up (:mod:`services.runtime.logs`)."""
    from services.runtime import logs

    logs.configure(settings)


def add_serve(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("serve", help="run the HTTP API", parents=[DATA_DIR])
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000,
                        help="port to listen on (default: %(default)s)")
    parser.add_argument("--workers", type=_positive, default=None,
                        help="server processes sharing the data folder (default: one per core)")
    parser.add_argument("--print-admin-token", action="store_true",
                        help="on the first start, also print the admin token (default: only "
                             "written to <data dir>/admin-token, mode 0600)")
    parser.set_defaults(handler=serve)


def config_show(args: argparse.Namespace, settings: Settings) -> int:
    """Print the effective settings as JSON, secrets masked."""
    print(settings.model_dump_json(indent=2))
    return 0


def add_config(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("config", help="inspect the settings")
    actions = parser.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="print the effective settings (JSON, secrets masked)",
                              parents=[DATA_DIR])
    show.set_defaults(handler=config_show)


def add_token(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("token", help="manage API tokens")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a token; prints only the token",
                                parents=[DATA_DIR])
    create.add_argument("--name", required=True,
                        help="the actor recorded in events (required; no default)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role],
                        help="what the token may do: %(choices)s (required; no default)")
    create.set_defaults(handler=token_create)
    listing = actions.add_parser("list", help="list every token's name, role and creation "
                                 "time (never the token itself)", parents=[DATA_DIR])
    listing.set_defaults(handler=token_list)
    revoke = actions.add_parser("revoke", help="revoke a token (never the last admin token)",
                                parents=[DATA_DIR])
    revoke.add_argument("name", help="the token's name, as 'pdl token list' shows it")
    revoke.set_defaults(handler=token_revoke)


def add_projections(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("projections", help="manage the views")
    actions = parser.add_subparsers(dest="action", required=True)
    rebuild = actions.add_parser("rebuild", help="rebuild the views from the event log",
                                 parents=[DATA_DIR])
    rebuild.add_argument("--workers", type=_positive, default=None,
                         help="loader processes (default: one per core, up to 4)")
    rebuild.set_defaults(handler=projections_rebuild)


def _positive(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def add_relay(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "relay", help="publish the event log to Kafka (PDL_KAFKA__BOOTSTRAP_SERVERS)",
        parents=[DATA_DIR])
    parser.add_argument("--batch-size", type=_positive, default=None,
                        help="events per published batch (default: the relay's, 2000)")
    parser.add_argument("--poll-interval", type=float, default=None,
                        help="seconds between polls of an idle log (default: 0.1)")
    parser.add_argument("--backoff-max", type=float, default=None,
                        help="longest wait between retries while Kafka is down (default: 30)")
    parser.add_argument("--from-position", type=_position, default=None, metavar="N",
                        help="publish everything after log position N again (0: the whole "
                             "history) to the configured cluster and prefix, then follow the "
                             "log; consumers see duplicates with the same ce_id, each key "
                             "still in order. Stop any other relay of this data folder "
                             "first (default: carry on after the last position published)")
    parser.set_defaults(handler=relay)


def add_project(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("project", help="update the views from the store or Kafka",
                                   parents=[DATA_DIR])
    parser.add_argument("--source", choices=["store", "kafka"], default="store",
                        help="where the changes come from: %(choices)s "
                             "(default: %(default)s)")
    parser.add_argument("--follow", action="store_true",
                        help="keep following until SIGTERM / Ctrl-C (default: catch up, exit)")
    parser.add_argument("--group", default=None,
                        help="Kafka consumer group (default: <client id>.<prefix>.views)")
    parser.set_defaults(handler=project)


def add_export(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="export the event log for a data warehouse (Parquet or NDJSON)",
        parents=[DATA_DIR])
    parser.add_argument("--out", type=Path, required=True,
                        help="export folder; it records its watermark, so the next export "
                             "into it carries on from there (required; no default)")
    parser.add_argument("--format", choices=["parquet", "ndjson"], default=None,
                        help="file format (default: the folder's, else parquet)")
    parser.add_argument("--since", type=_position, default=None, metavar="POSITION",
                        help="export the changes after this log position (default: after "
                             "the folder's watermark)")
    parser.set_defaults(handler=export)


def _position(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a log position (0 or more), got {text!r}")
    return int(text)


#: Subcommand name -> function that adds its parser (and sets ``handler``).
COMMANDS: dict[str, Callable[[Subparsers], None]] = {
    "serve": add_serve,
    "token": add_token,
    "projections": add_projections,
    "relay": add_relay,
    "project": add_project,
    "config": add_config,
    "export": add_export,
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="pdl", description="Product decision log.")
    root.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    root.add_argument("--data-dir", type=Path, default=None,
                      help="data folder (default: $PDL_DATA_DIR or ./pdl-data)")
    subparsers = root.add_subparsers(dest="command", required=True)
    for add in COMMANDS.values():
        add(subparsers)
    return root


def package_version() -> str:
    """The installed package's version (``unknown`` when run from an uninstalled tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("product-decision-log")
    except PackageNotFoundError:
        return "unknown"


def load_settings(data_dir: Path | None) -> Settings:
    overrides: dict[str, Any] = {} if data_dir is None else {"data_dir": data_dir}
    return Settings(**overrides)


def settings_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = "PDL_" + "__".join(str(p) for p in first["loc"]).upper()
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"invalid settings: {where}: {first['msg']}{more}"


def fail(message: str, code: int = 1) -> int:
    print(f"pdl: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings(args.data_dir)
    except ValidationError as error:
        return fail(settings_error(error), code=2)
    except SettingsError as error:
        return fail(f"invalid settings: {error}", code=2)
    handler: Handler = args.handler
    # `kill -USR1 PID` prints every thread's stack on stderr: what a stuck process waits on.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    os.umask(PRIVATE)  # what pdl (and every worker it starts) creates is its owner's alone
    try:
        return handler(args, settings)
    except Exception as error:
        full = out_of_space(error, settings.data_dir)
        if full is None:
            raise
        return fail(f"the disk holding {settings.data_dir} is full ({full}); free some space, "
                    "then start again.")


#: The umask of every pdl process: new folders 0700, new files 0600.
PRIVATE = 0o077


if __name__ == "__main__":
    sys.exit(main())
