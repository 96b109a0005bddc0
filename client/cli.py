"""``tbot-client``: init | run | status | deposit | withdraw | replay | pause | resume | flatten | verify-history.

Exit codes: 0 ok, 1 a runtime failure (feed unreachable at init, a refused withdrawal, a broken history chain),
2 a configuration error (naming the key and the file), 3 the feed refused the token.
"""

from __future__ import annotations

import argparse
import faulthandler
import getpass
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from client.config import (
    DEFAULT_CONFIG_NAME,
    TOKEN_ENV_KEY,
    ClientConfig,
    load_config,
    render_config,
    write_private,
)
from client.control import RunLock
from client.engine import Outcome
from client.feed import FeedApi, FeedAuthError, FeedError
from client.ledger import LedgerError, format_cents
from client.money import AmountError, deposit, load_ledger, parse_dollars, withdraw
from client.sizing import SKIP_REASONS
from client.store import StatePaths
from shared.config import ConfigError
from shared.records import SURFACES
from shared.signing import load_public_key
from shared.timeutil import from_iso, to_iso, utcnow

EXIT_RUNTIME = 1
EXIT_CONFIG = 2
EXIT_AUTH = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tbot-client", description="follow tbot signals on your own account")
    parser.add_argument("--config", type=Path, default=Path(DEFAULT_CONFIG_NAME), help="the TOML config file")
    parser.add_argument("--json", action="store_true", help="one JSON object per line (machine logs)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    # ``--json`` is accepted after the command too (``tbot-client run --json``); SUPPRESS keeps the global value.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="one JSON object per line")

    init = sub.add_parser("init", parents=[common], help="write a commented config and pin the operator's public key")
    init.add_argument("--url", required=True, help="the operator's dashboard, e.g. https://signals.example.com")
    init.add_argument("--token-file", type=Path,
                      help="a file holding your subscriber token (default: you are asked for it, not echoed)")
    init.add_argument("--token", help=argparse.SUPPRESS)  # deprecated: shell history and ps show it
    init.add_argument("--surfaces", default=None,
                      help="comma-separated surfaces to follow (default: all with paper, those your broker trades)")
    init.add_argument("--rule", choices=("fixed", "bankroll_fraction", "operator_multiple"),
                      default="operator_multiple")
    init.add_argument("--broker", choices=("paper", "kalshi", "oanda", "ibkr"), default="paper")
    init.add_argument("--public-key", type=Path, help="pin this PEM file instead of fetching the operator's key")

    run = sub.add_parser("run", parents=[common], help="follow the feed and trade")
    run.add_argument("--max-batches", type=int, default=None, help=argparse.SUPPRESS)

    sub.add_parser("status", parents=[common],
                   help="ledger, open positions, signals not traded and why, commission accrued, pending callbacks")
    sub.add_parser("pause", parents=[common], help="stop opening positions (open ones stay; exits still happen)")
    sub.add_parser("resume", parents=[common], help="trade again after a pause or an equity stop")
    flatten = sub.add_parser("flatten", parents=[common],
                             help="close every open position at the broker now, and pause")
    flatten.add_argument("--wait", type=float, default=None,
                         help="seconds to wait for a running `run` to do it (default: its poll wait + 15)")
    service = sub.add_parser("service", parents=[common],
                             help="run the client as a user service (systemd on Linux, launchd on macOS)")
    service.add_argument("action", choices=("install", "uninstall", "status"))
    service.add_argument("--unit-dir", type=Path, default=None, help="the user service folder (default: the OS's)")
    service.add_argument("--no-enable", action="store_true", help="write the unit but do not enable or start it")
    ui = sub.add_parser("ui", parents=[common], help="a local web page of your account (loopback only, token)")
    ui.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free one)")
    track = sub.add_parser("tracking", parents=[common],
                           help="your result beside the operator's, signal by signal (slippage, fees, skips)")
    track.add_argument("--days", type=int, default=30)
    verify = sub.add_parser("verify-history", parents=[common],
                            help="check the operator's published signals: signatures and the hash chain per surface")
    verify.add_argument("--days", type=int, default=3650, help="how far back (default: everything)")
    dep = sub.add_parser("deposit", parents=[common], help="record a deposit (dollars)")
    dep.add_argument("amount")
    wd = sub.add_parser("withdraw", parents=[common],
                        help="withdraw (dollars); crystallizes commission above the high-water mark")
    wd.add_argument("amount")
    replay = sub.add_parser("replay", parents=[common],
                            help="what following the operator for the last N days would have made")
    replay.add_argument("--days", type=int, default=30)
    replay.add_argument("--chart", type=Path, default=None, help="equity-curve PNG (default from the config)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "init":
            return _init(args)
        config = load_config(args.config)
        handler = {"run": _run, "status": _status, "deposit": _deposit, "withdraw": _withdraw, "replay": _replay,
                   "pause": _pause, "resume": _resume, "flatten": _flatten, "verify-history": _verify_history,
                   "service": _service, "ui": _ui, "tracking": _tracking}
        return handler[args.command](args, config)
    except BrokenPipeError:
        # The reader went away (``tbot-client --json status | head``): stop quietly, no traceback. Later writes
        # (the interpreter's final flush) go to /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_RUNTIME
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    except FeedAuthError as exc:
        print(f"tbot-client: the feed refused the token ({exc}); check it or ask the operator", file=sys.stderr)
        return EXIT_AUTH


def _say(args: argparse.Namespace, text: str, data: dict[str, Any] | None = None) -> None:
    if args.json:
        print(json.dumps(data if data is not None else {"message": text}, sort_keys=True), flush=True)
    else:
        print(text, flush=True)


# ---------------------------------------------------------------------------- init
def _init(args: argparse.Namespace) -> int:
    config_path: Path = args.config
    if config_path.exists():
        print(f"tbot-client: {config_path} exists; not overwriting it", file=sys.stderr)
        return EXIT_RUNTIME
    from client.engine import BROKER_SURFACES

    default = BROKER_SURFACES.get(args.broker, SURFACES)
    surfaces = tuple(s.strip() for s in args.surfaces.split(",") if s.strip()) if args.surfaces else default
    unknown = [s for s in surfaces if s not in SURFACES]
    if unknown:
        print(f"tbot-client: unknown surface {unknown[0]!r}", file=sys.stderr)
        return EXIT_CONFIG
    token = _read_token(args)
    if token is None:
        return EXIT_CONFIG
    api = FeedApi(args.url, token)
    try:
        api.check_token()  # one authenticated request: a wrong token or URL fails here, not at ``run``
        pem = args.public_key.read_text(encoding="utf-8") if args.public_key is not None else api.public_key_pem()
    except FeedAuthError:
        print(f"tbot-client: {api.shown_url} refused this token (HTTP 401/403): check it for typos, or ask the "
              "operator whether it was revoked. Nothing was written.", file=sys.stderr)
        return EXIT_AUTH
    except FeedError as exc:
        print(f"tbot-client: could not reach the feed: {exc}. Nothing was written.", file=sys.stderr)
        return EXIT_RUNTIME
    finally:
        api.close()
    base = config_path.parent
    base.mkdir(parents=True, exist_ok=True)
    load_public_key(pem)  # refuse to pin anything that is not an Ed25519 key
    text = render_config(url=args.url, token_in_file=True, surfaces=surfaces, rule=args.rule, broker=args.broker)
    config_path.write_text(text, encoding="utf-8")
    config = load_config(config_path)
    (config.public_key_path).write_text(pem, encoding="utf-8")
    written = [str(config_path), str(config.public_key_path)]
    if config.feed.secrets_file is not None:
        secrets = config.resolve(config.feed.secrets_file)
        if not secrets.exists():
            write_private(secrets, f"# tbot-client feed token (keep this file 0600)\n{TOKEN_ENV_KEY}={token}\n")
            written.append(f"{secrets} (0600)")
    StatePaths(config.state_dir).ensure()
    _say(args, "token accepted by the feed; wrote " + ", ".join(written) + "; pinned the operator's key. "
         "Next: tbot-client run", {"written": written, "token_checked": True})
    return 0


def _read_token(args: argparse.Namespace) -> str | None:
    """The subscriber token from ``--token-file`` or a prompt; never echoed. ``--token`` still works, with a
    warning: the command line lands in shell history and ``ps``."""
    if args.token_file is not None:
        try:
            text = args.token_file.read_text(encoding="utf-8")
        except OSError as exc:
            print(f"tbot-client: cannot read --token-file {args.token_file}: {exc.strerror}", file=sys.stderr)
            return None
        token = _token_from_text(text)
        if not token:
            print(f"tbot-client: --token-file {args.token_file} holds no token", file=sys.stderr)
        return token or None
    if args.token:
        print("tbot-client: warning: --token is deprecated (it stays in your shell history and shows in `ps`); "
              "use --token-file FILE or let init ask for it", file=sys.stderr)
        return str(args.token)
    if not sys.stdin.isatty():
        print("tbot-client: no token: pass --token-file FILE (init asks for it only on a terminal)",
              file=sys.stderr)
        return None
    token = getpass.getpass("subscriber token (not shown): ").strip()
    return token or None


def _token_from_text(text: str) -> str:
    """A token file holds the bare token, or ``TBOT_FEED_TOKEN=...`` (comments and blank lines ignored)."""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(f"{TOKEN_ENV_KEY}="):
            line = line.split("=", 1)[1].strip()
        return line.strip("'\"")
    return ""


# ---------------------------------------------------------------------------- run
def _pinned_key(config: ClientConfig) -> Any:
    path = config.public_key_path
    if not path.exists():
        raise ConfigError(config.source, "feed.public_key_file", f"{path} missing; run tbot-client init")
    try:
        return load_public_key(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(path, "feed.public_key_file", str(exc)) from None


def _run(args: argparse.Namespace, config: ClientConfig) -> int:
    from client.brokers import open_broker
    from client.engine import Follower
    from client.notify import build_notifier
    from client.runner import Runner

    key = _pinned_key(config)
    token = config.feed_token()
    StatePaths(config.state_dir).ensure()
    lock = RunLock(config.state_dir)
    if not lock.acquire():
        print(f"tbot-client: another `tbot-client run` is using {config.state_dir}; one at a time", file=sys.stderr)
        return EXIT_RUNTIME
    broker = open_broker(config)
    follower = Follower(config, broker, key)
    api = FeedApi(config.feed.url, token)

    notifier = build_notifier(config)

    def emit(outcome: Outcome) -> None:
        notifier.outcome(outcome)  # queued for a sender thread: never waits on a channel
        if args.json:
            print(json.dumps(outcome.as_json(), sort_keys=True), flush=True)
        else:
            print(outcome.line(), flush=True)

    def status(text: str) -> None:
        if args.json:
            print(json.dumps({"status": text}), flush=True)
        else:
            print(f"{'status':<13} {text}", file=sys.stderr, flush=True)

    runner = Runner(follower, api, emit=emit, status=status, alert=notifier.notify)

    def stop(signum: int, _frame: object) -> None:
        runner.stopped = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # ``kill -USR1 <pid>`` prints every thread's stack to stderr: how to see where a stuck client waits.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    status(f"following {config.feed.url} ({', '.join(config.feed.surfaces)}) with the {broker.name} broker")
    try:
        runner.run(max_batches=args.max_batches)
    except KeyboardInterrupt:
        status("stopped" + (f"; not traded this session: {runner.stats.skip_summary()}"
                            if runner.stats.skipped else ""))
    finally:
        api.close()
        notifier.close()
        lock.release()
    return 0


# ---------------------------------------------------------------------------- money
def _status(args: argparse.Namespace, config: ClientConfig) -> int:
    from client.control import ControlLog
    from client.outbox import Outbox

    paths = StatePaths(config.state_dir)
    paths.ensure()
    ledger = load_ledger(paths, config)
    pending = len(Outbox(paths.log("outbox"), paths.delivery_lock).pending())
    control = ControlLog(paths.root).state
    skipped = skip_counts(paths)
    open_positions = sorted(ledger.positions.values(), key=lambda p: (p.opened_at or utcnow(), p.signal_id))
    positions = [
        {"signal_id": p.signal_id, "surface": p.surface, "instrument": p.instrument, "side": p.side,
         "quantity": p.quantity, "fill_price": format(p.fill_price, "f"), "cost_cents": p.cost_cents,
         "fees_cents": p.fees_cents, "opened_at": to_iso(p.opened_at) if p.opened_at else None}
        for p in open_positions
    ]
    snapshot = ledger.snapshot() | {
        "pending_callbacks": pending, "positions": positions, "skipped": skipped,
        "paused": control.paused, "pause_reason": control.pause_reason,
        "equity_stops": control.equity_stops, "flatten_pending": len(control.flatten_pending),
    }
    if args.json:
        print(json.dumps(snapshot, sort_keys=True), flush=True)
        return 0
    lines = [
        f"cash {format_cents(ledger.cash_cents)}  equity {format_cents(ledger.equity_cents)}  "
        f"open {len(ledger.positions)} ({format_cents(ledger.open_cost_cents)})",
        f"deposits {format_cents(ledger.deposits_cents)}  withdrawals {format_cents(ledger.withdrawals_cents)}  "
        f"realized P&L {format_cents(ledger.realized_pnl_cents)}  fees {format_cents(ledger.fees_cents)}",
        f"high-water mark {format_cents(ledger.hwm_cents)}  commission paid {format_cents(ledger.commission_cents)}"
        f"  due if you withdrew now {format_cents(ledger.commission_accrued_cents())}",
        f"callbacks waiting {pending}",
        "trading " + (f"PAUSED ({control.pause_reason or 'tbot-client pause'}); tbot-client resume to trade again"
                      if control.paused else "on"),
        _last_poll_line(paths),
    ]
    if positions:
        lines.append("")
        lines.append(f"{'opened (UTC)':<17} {'surface':<9} {'instrument':<26} {'side':<5} {'quantity':>9} "
                     f"{'fill':>10} {'cost':>11}")
        for p in open_positions:
            opened = p.opened_at.strftime("%Y-%m-%d %H:%M") if p.opened_at else ""
            lines.append(f"{opened:<17} {p.surface:<9} {p.instrument:<26} {p.side:<5} "
                         f"{p.quantity:>9} {format(p.fill_price, 'f'):>10} {format_cents(p.cost_cents):>11}")
    else:
        lines.append("no open positions")
    if skipped:
        lines.append("")
        lines.append("signals not traded, by reason:")
        for reason, count in sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {count:>5}  {reason:<22} {SKIP_REASONS.get(reason, '')}")
    print("\n".join(lines), flush=True)
    return 0


def _last_poll_line(paths: StatePaths) -> str:
    from client.service import read_heartbeat

    beat = read_heartbeat(paths)
    last = beat.get("last_poll_ok") if beat else None
    if not isinstance(last, str):
        return "last poll ok: never (is `tbot-client run` or the service running?)"
    return f"last poll ok: {last} ({(utcnow() - from_iso(last)).total_seconds():.0f} s ago)"


def skip_counts(paths: StatePaths) -> dict[str, int]:
    """Signals the client did not trade, by reason code, from its own ``signals.jsonl`` (once per signal)."""
    legacy = {"expired": "expired", "malformed": "malformed", "rejected": "rejected", "bad_signature": "bad_signature"}
    last: dict[str, str] = {}
    for entry in paths.log("signals").read_all():
        data = entry.data
        verdict = str(data.get("verdict", ""))
        signal_id = str(data.get("signal_id", ""))
        if verdict in ("accepted", "rate"):
            continue
        if verdict == "traded":
            last.pop(signal_id, None)
            continue
        code = data.get("code")
        if not isinstance(code, str):
            code = legacy.get(verdict, "other" if verdict == "skipped" else "")
        if code:
            last[signal_id] = code
    counts: dict[str, int] = {}
    for code in last.values():
        counts[code] = counts.get(code, 0) + 1
    return counts


def _pause(args: argparse.Namespace, config: ClientConfig) -> int:
    from client.control import ControlLog

    StatePaths(config.state_dir).ensure()
    ControlLog(config.state_dir).pause(utcnow(), "tbot-client pause")
    _say(args, "paused: no new positions; open ones stay and resolve. tbot-client resume to trade again",
         {"paused": True})
    return 0


def _resume(args: argparse.Namespace, config: ClientConfig) -> int:
    from client.control import ControlLog

    StatePaths(config.state_dir).ensure()
    ControlLog(config.state_dir).resume(utcnow())
    _say(args, "resumed: new signals will be traded", {"paused": False})
    return 0


def _flatten(args: argparse.Namespace, config: ClientConfig) -> int:
    """Pause and close every open position. With no ``run`` going this process does it; otherwise the running
    ``run`` does it on its next turn and this waits for the result."""
    from client.brokers import open_broker
    from client.control import ControlLog, RunLock
    from client.engine import Follower

    paths = StatePaths(config.state_dir)
    paths.ensure()
    control = ControlLog(paths.root)
    now = utcnow()
    control.pause(now, "flatten")
    request = control.request_flatten(now, "tbot-client flatten")
    lock = RunLock(paths.root)
    if lock.acquire():
        try:
            follower = Follower(config, open_broker(config), _pinned_key(config))
            outcomes = follower.recover()  # repairs anything half done, then the flatten itself
        finally:
            lock.release()
        for outcome in outcomes:
            _say(args, outcome.line(), outcome.as_json())
    else:
        wait = args.wait if args.wait is not None else config.feed.poll_wait_seconds + 15
        _say(args, f"`tbot-client run` is running: it will flatten on its next turn (waiting up to {wait:.0f}s)",
             {"status": "requested", "request": request})
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and request in control.refresh().flatten_pending:
            time.sleep(0.2)
    state = control.refresh()
    ledger = load_ledger(paths, config)
    done = request not in state.flatten_pending
    failed = [e for e in state.events if e.get("type") == "flatten_done" and e.get("request") == request
              and e.get("failed")]
    _say(args, ("flattened" if done and not failed else "flatten not finished") +
         f": {len(ledger.positions)} positions open, equity {format_cents(ledger.equity_cents)}; paused "
         "(tbot-client resume to trade again)",
         {"flattened": done and not failed, "open_positions": len(ledger.positions),
          "equity_cents": ledger.equity_cents, "paused": True})
    return 0 if done and not failed else EXIT_RUNTIME


def _deposit(args: argparse.Namespace, config: ClientConfig) -> int:
    try:
        amount = parse_dollars(args.amount)
    except AmountError as exc:
        print(f"tbot-client: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    ledger = deposit(config, amount)
    _say(args, f"deposited {format_cents(amount)}; cash {format_cents(ledger.cash_cents)}",
         {"deposited_cents": amount, "cash_cents": ledger.cash_cents})
    return 0


def _withdraw(args: argparse.Namespace, config: ClientConfig) -> int:
    try:
        amount = parse_dollars(args.amount)
        done = withdraw(config, amount)
    except (AmountError, LedgerError) as exc:
        print(f"tbot-client: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    commission = done.commission.amount_cents if done.commission is not None else 0
    _say(
        args,
        f"withdrew {format_cents(amount)}; commission crystallized {format_cents(commission)}; "
        f"high-water mark {format_cents(done.ledger_after.hwm_cents)}; "
        f"cash {format_cents(done.ledger_after.cash_cents)}",
        {"withdrawn_cents": amount, "commission_cents": commission, "hwm_cents": done.ledger_after.hwm_cents,
         "cash_cents": done.ledger_after.cash_cents},
    )
    if commission:
        _deliver_now(config)
        _notify_once(config, "commission", f"commission of {format_cents(commission)} crystallized by a withdrawal "
                                           f"of {format_cents(amount)}; high-water mark now "
                                           f"{format_cents(done.ledger_after.hwm_cents)}")
    return 0


def _notify_once(config: ClientConfig, event: str, text: str) -> None:
    from client.notify import build_notifier

    notifier = build_notifier(config)
    try:
        notifier.notify(event, text)
    finally:
        notifier.close()


def _deliver_now(config: ClientConfig) -> None:
    """Try to report the commission at once; if the feed is down (or ``run`` holds the outbox), ``run`` will."""
    from client.outbox import Outbox

    try:
        token = config.feed_token()
    except ConfigError:
        return
    paths = StatePaths(config.state_dir)
    api = FeedApi(config.feed.url, token, timeout=5.0)
    try:
        Outbox(paths.log("outbox"), paths.delivery_lock).deliver(api.post, block=False)
    finally:
        api.close()


# ---------------------------------------------------------------------------- replay
def _replay(args: argparse.Namespace, config: ClientConfig) -> int:
    from client.replay import render_table, simulate, write_chart

    if args.days <= 0:
        print("tbot-client: --days must be positive", file=sys.stderr)
        return EXIT_RUNTIME
    key = _pinned_key(config)
    api = FeedApi(config.feed.url, config.feed_token(), timeout=30.0)
    try:
        since = (utcnow() - timedelta(days=args.days)).date()
        items = api.history_all(since)
    except FeedError as exc:
        print(f"tbot-client: history unavailable: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    finally:
        api.close()
    result = simulate(config, items, key)
    chart = write_chart(result, args.chart or config.resolve(config.replay.chart_file), args.days)
    if args.json:
        print(json.dumps(result.as_json() | {"chart": str(chart), "days": args.days}, sort_keys=True))
    else:
        print(render_table(result, args.days))
        print(f"equity curve: {chart}")
    return 0


def _service(args: argparse.Namespace, config: ClientConfig) -> int:
    """install | uninstall | status of the user service that keeps ``run`` going."""
    from client import service

    paths = StatePaths(config.state_dir)
    paths.ensure()
    assert config.source is not None
    unit = service.plan(config.source, config.state_dir, unit_dir=args.unit_dir)
    if args.action == "install":
        print(f"tbot-client will install {unit.explain}.\n--- {unit.path}\n{unit.text}---", flush=True)
        unit.path.parent.mkdir(parents=True, exist_ok=True)
        unit.path.write_text(unit.text, encoding="utf-8")
        if args.no_enable:
            print("written, not enabled; to enable: " + " && ".join(" ".join(c) for c in unit.enable))
            return 0
        ok, why = service.run_commands(unit.enable)
        if not ok:
            print(f"tbot-client: written but not enabled ({why}); enable it with: "
                  + " && ".join(" ".join(c) for c in unit.enable), file=sys.stderr)
            return EXIT_RUNTIME
        print("enabled and started")
        return 0
    if args.action == "uninstall":
        ok, why = service.run_commands(unit.disable) if unit.path.exists() and not args.no_enable else (True, "")
        unit.path.unlink(missing_ok=True)
        print(f"removed {unit.path}" + ("" if ok else f" (disabling it failed: {why})"))
        return 0
    return _service_status(args, config, unit, paths)


def _service_status(args: argparse.Namespace, config: ClientConfig, unit: Any, paths: StatePaths) -> int:
    from client import service

    beat = service.read_heartbeat(paths)
    last = beat.get("last_poll_ok") if beat else None
    age = (utcnow() - from_iso(last)).total_seconds() if isinstance(last, str) else None
    windows = service.downtimes(paths)
    missed: list[dict[str, Any]] = []
    history_error = None
    if windows:
        try:
            api = FeedApi(config.feed.url, config.feed_token(), timeout=30.0)
            try:
                items = api.history_all(min(start for start, _ in windows).date())
            finally:
                api.close()
            seen = {str(e.data.get("signal_id")) for e in paths.log("signals").read_all()}
            missed = service.missed_signals(items, windows, seen, config.feed.surfaces)
        except FeedError as exc:
            history_error = str(exc)
    data = {
        "installed": unit.path.exists(), "unit": str(unit.path), "kind": unit.kind,
        "last_poll_ok": last, "seconds_since_last_poll": None if age is None else round(age, 1),
        "downtime": [{"from": to_iso(a), "to": to_iso(b)} for a, b in windows],
        "missed": [{"signal_id": i["signal"]["id"], "surface": i["signal"].get("surface"),
                    "instrument": i["signal"].get("instrument"), "published_at": i["signal"].get("published_at"),
                    "outcome": i.get("outcome")} for i in missed],
        "history_error": history_error,
    }
    if args.json:
        print(json.dumps(data, sort_keys=True), flush=True)
        return 0
    print(f"service: {unit.kind} unit {'installed' if data['installed'] else 'not installed'} ({unit.path})")
    print("last poll ok: " + (f"{last} ({age:.0f} s ago)" if age is not None else "never"))
    for start, end in windows[-5:]:
        print(f"not polling: {to_iso(start)} to {to_iso(end)} ({(end - start).total_seconds() / 60:.1f} min)")
    if history_error:
        print(f"missed signals unknown: history unavailable ({history_error})")
    elif windows:
        print(f"signals that expired while the client was down: {len(missed)}")
        for m in data["missed"]:
            print(f"  {m['published_at']}  {m['surface']:<9} {m['instrument']}  ({m['outcome']})")
    return 0


def _ui(args: argparse.Namespace, config: ClientConfig) -> int:
    """Serve the local page until Ctrl-C; prints its address with a fresh token in the URL fragment."""
    from client.service import plan
    from client.ui import HistoryCache, history_source, make_server, new_token

    paths = StatePaths(config.state_dir)
    paths.ensure()
    token = new_token(paths)
    assert config.source is not None
    server = make_server(config, token, HistoryCache(history_source(config)), port=args.port,
                         unit_path=plan(config.source, config.state_dir).path)
    port = server.server_address[1]
    _say(args, f"tbot-client ui on http://127.0.0.1:{port}/#token={token} (loopback only; Ctrl-C to stop)",
         {"url": f"http://127.0.0.1:{port}/", "port": port})
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _tracking(args: argparse.Namespace, config: ClientConfig) -> int:
    """The tracking report: each operator signal, what you did with it, and why the results differ."""
    from client.tracking import render, tracking_report

    api = FeedApi(config.feed.url, config.feed_token(), timeout=30.0)
    try:
        items = api.history_all((utcnow() - timedelta(days=args.days)).date())
    except FeedError as exc:
        print(f"tbot-client: history unavailable: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    finally:
        api.close()
    report = tracking_report(items, StatePaths(config.state_dir))
    if args.json:
        print(json.dumps(report.as_json(), sort_keys=True), flush=True)
    else:
        print(render(report), flush=True)
    return 0


def _verify_history(args: argparse.Namespace, config: ClientConfig) -> int:
    """Signatures and the hash chain of the operator's published history; exit 1 on a break."""
    from client.verify import verify_history

    if args.days <= 0:
        print("tbot-client: --days must be positive", file=sys.stderr)
        return EXIT_RUNTIME
    key = _pinned_key(config)
    api = FeedApi(config.feed.url, config.feed_token(), timeout=30.0)
    try:
        result = verify_history(api, key, (utcnow() - timedelta(days=args.days)).date(),
                                StatePaths(config.state_dir))
    except FeedError as exc:
        print(f"tbot-client: history unavailable: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    finally:
        api.close()
    if args.json:
        print(json.dumps(result.as_json(), sort_keys=True), flush=True)
    else:
        print(result.render(), flush=True)
    return 0 if result.ok else EXIT_RUNTIME


if __name__ == "__main__":
    raise SystemExit(main())
