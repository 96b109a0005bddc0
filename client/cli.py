"""``tbot-client``: init | run | status | deposit | withdraw | replay.

Exit codes: 0 ok, 1 a runtime failure (feed unreachable at init, a refused withdrawal), 2 a configuration error
(naming the key and the file), 3 the feed refused the token.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import logging
import signal
import sys
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
from client.engine import Outcome
from client.feed import FeedApi, FeedAuthError, FeedError
from client.ledger import LedgerError, format_cents
from client.money import AmountError, deposit, load_ledger, parse_dollars, withdraw
from client.store import StatePaths
from shared.config import ConfigError
from shared.records import SURFACES
from shared.signing import load_public_key
from shared.timeutil import utcnow

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
    init.add_argument("--token", help=f"your subscriber token (stored as {TOKEN_ENV_KEY} in a 0600 file)")
    init.add_argument("--surfaces", default=None,
                      help="comma-separated surfaces to follow (default: all with paper, those your broker trades)")
    init.add_argument("--rule", choices=("fixed", "bankroll_fraction", "operator_multiple"), default="fixed")
    init.add_argument("--broker", choices=("paper", "kalshi", "oanda", "ibkr"), default="paper")
    init.add_argument("--public-key", type=Path, help="pin this PEM file instead of fetching the operator's key")

    run = sub.add_parser("run", parents=[common], help="follow the feed and trade")
    run.add_argument("--max-batches", type=int, default=None, help=argparse.SUPPRESS)

    sub.add_parser("status", parents=[common], help="ledger, open positions, commission accrued, pending callbacks")
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
        handler = {"run": _run, "status": _status, "deposit": _deposit, "withdraw": _withdraw, "replay": _replay}
        return handler[args.command](args, config)
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
    base = config_path.parent
    base.mkdir(parents=True, exist_ok=True)
    if args.public_key is not None:
        pem = args.public_key.read_text(encoding="utf-8")
    else:
        if not args.token:
            print("tbot-client: --token is needed to fetch the operator's key (or pass --public-key)", file=sys.stderr)
            return EXIT_CONFIG
        api = FeedApi(args.url, args.token)
        try:
            pem = api.public_key_pem()
        except FeedError as exc:
            print(f"tbot-client: could not fetch the operator's public key: {exc}", file=sys.stderr)
            return EXIT_RUNTIME
        finally:
            api.close()
    load_public_key(pem)  # refuse to pin anything that is not an Ed25519 key
    text = render_config(url=args.url, token_in_file=True, surfaces=surfaces, rule=args.rule, broker=args.broker)
    config_path.write_text(text, encoding="utf-8")
    config = load_config(config_path)
    (config.public_key_path).write_text(pem, encoding="utf-8")
    written = [str(config_path), str(config.public_key_path)]
    if args.token and config.feed.secrets_file is not None:
        secrets = config.resolve(config.feed.secrets_file)
        if not secrets.exists():
            write_private(secrets, f"# tbot-client feed token (keep this file 0600)\n{TOKEN_ENV_KEY}={args.token}\n")
            written.append(f"{secrets} (0600)")
    StatePaths(config.state_dir).ensure()
    _say(args, "wrote " + ", ".join(written) + "; pinned the operator's key. Next: tbot-client run",
         {"written": written})
    return 0


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
    from client.runner import Runner

    key = _pinned_key(config)
    token = config.feed_token()
    broker = open_broker(config)
    follower = Follower(config, broker, key)
    api = FeedApi(config.feed.url, token)

    def emit(outcome: Outcome) -> None:
        if args.json:
            print(json.dumps(outcome.as_json(), sort_keys=True), flush=True)
        else:
            print(outcome.line(), flush=True)

    def status(text: str) -> None:
        if args.json:
            print(json.dumps({"status": text}), flush=True)
        else:
            print(f"{'status':<13} {text}", file=sys.stderr, flush=True)

    runner = Runner(follower, api, emit=emit, status=status)

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
        status("stopped")
    finally:
        api.close()
    return 0


# ---------------------------------------------------------------------------- money
def _status(args: argparse.Namespace, config: ClientConfig) -> int:
    from client.outbox import Outbox

    paths = StatePaths(config.state_dir)
    paths.ensure()
    ledger = load_ledger(paths, config)
    pending = len(Outbox(paths.log("outbox"), paths.delivery_lock).pending())
    snapshot = ledger.snapshot() | {"pending_callbacks": pending}
    if args.json:
        print(json.dumps(snapshot, sort_keys=True))
        return 0
    print(f"cash {format_cents(ledger.cash_cents)}  equity {format_cents(ledger.equity_cents)}  "
          f"open {len(ledger.positions)} ({format_cents(ledger.open_cost_cents)})")
    print(f"deposits {format_cents(ledger.deposits_cents)}  withdrawals {format_cents(ledger.withdrawals_cents)}  "
          f"realized P&L {format_cents(ledger.realized_pnl_cents)}  fees {format_cents(ledger.fees_cents)}")
    print(f"high-water mark {format_cents(ledger.hwm_cents)}  commission paid {format_cents(ledger.commission_cents)}"
          f"  due if you withdrew now {format_cents(ledger.commission_accrued_cents())}")
    print(f"callbacks waiting {pending}")
    return 0


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
    return 0


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


if __name__ == "__main__":
    raise SystemExit(main())
