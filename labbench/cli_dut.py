"""The ``labbench dut`` commands: the inventory from scripts (docs/architecture.md §5).

``add``, ``place``, ``remove``, ``show`` and ``import`` go through the inventory room, the
same functions (and so the same checks) as the app's Inventory panel, and every change is
written to the audit trail under ``--operator`` (default: the logged-in user).  A refused
change is one sentence naming the culprit, exit code 2, and nothing written.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import logging
from pathlib import Path

from labbench.cli import EXIT_OK, UsageError
from labbench.records import DUT_KINDS, DutInfo

log = logging.getLogger(__name__)

# A sled row of a traveller may say how many slots the sled has.
OPTIONAL_TRAVELLER_COLUMNS = ("slots",)


def add_parser(commands, add_db_option) -> None:
    """Register ``dut`` and its sub-commands on the ``labbench`` parser."""
    dut = commands.add_parser("dut", help="register, place and show sleds and chips")
    verbs = dut.add_subparsers(dest="dut_command", metavar="ACTION", required=True)

    add = verbs.add_parser("add", help="register a sled or a chip")
    add.add_argument("serial", metavar="SERIAL")
    add.add_argument("--kind", required=True, help="chip or sled")
    add.add_argument("--slots", type=int, metavar="N", help="number of slots (sleds)")
    add.add_argument("--part", default="", metavar="P")
    add.add_argument("--lot", default="", metavar="L")
    add.add_argument("--wafer", default="", metavar="W")
    add.add_argument("--wafer-x", type=int, metavar="X", help="die column on the wafer")
    add.add_argument("--wafer-y", type=int, metavar="Y", help="die row on the wafer")

    place = verbs.add_parser("place", help="put a chip into a sled slot (moves it if placed)")
    place.add_argument("chip", metavar="CHIP")
    place.add_argument("--sled", required=True, metavar="SLED")
    place.add_argument("--slot", required=True, type=int, metavar="N", help="0-based slot")

    remove = verbs.add_parser("remove", help="take a chip out of its sled (history stays)")
    remove.add_argument("chip", metavar="CHIP")

    show = verbs.add_parser("show", help="a DUT's fields, slots or placements, and its runs")
    show.add_argument("serial", metavar="SERIAL")
    show.add_argument("--json", action="store_true", help="print one JSON object")

    imp = verbs.add_parser("import", help="register a traveller sheet (CSV) in one transaction")
    imp.add_argument("file", metavar="FILE.csv")

    for verb in (add, place, remove, imp):
        verb.add_argument("--operator", default="", help="who does it (default: the OS user)")
        verb.add_argument("--reason", default="", help="why (audit trail)")
    for verb in (add, place, remove, show, imp):
        add_db_option(verb)


def run(args: argparse.Namespace, open_db) -> int:
    from labbench.storage import RecordError

    handler = {
        "add": _add,
        "place": _place,
        "remove": _remove,
        "show": _show,
        "import": _import,
    }[args.dut_command]
    db = open_db(args)
    try:
        return handler(db, args)
    except RecordError as exc:
        raise UsageError(str(exc)) from None
    finally:
        db.dispose()


def _who(args: argparse.Namespace) -> str:
    return args.operator.strip() or getpass.getuser() or "unknown"


def _dut(db, serial: str, kind: str | None = None) -> DutInfo:
    from labbench.storage import inventory

    dut = inventory.find_dut(db, serial)
    if dut is None:
        raise UsageError(f"There is no DUT with serial {serial!r}; register it with `dut add`.")
    if kind == "chip" and dut.kind != "chip":
        raise UsageError(f"{dut.serial} is a sled, not a chip: only chips go into slots.")
    if kind == "sled" and dut.kind != "sled":
        raise UsageError(f"{dut.serial} is a chip, not a sled: a chip cannot hold chips.")
    return dut


def _add(db, args) -> int:
    from labbench.storage import inventory

    if args.kind not in DUT_KINDS:
        raise UsageError(f"--kind {args.kind!r} is not one of {', '.join(DUT_KINDS)}.")
    fields = {"part": args.part, "lot": args.lot, "wafer": args.wafer}
    fields.update(wafer_x=args.wafer_x, wafer_y=args.wafer_y)
    if args.slots is not None:
        fields["slot_count"] = args.slots
    dut = inventory.add_dut(
        db, args.kind, args.serial, user=_who(args), reason=args.reason, **fields
    )
    slots = f" with {dut.slot_count} slots" if dut.slot_count else ""
    print(f"{dut.kind} {dut.serial} registered{slots}.")
    return EXIT_OK


def _place(db, args) -> int:
    from labbench.storage import inventory

    chip, sled = _dut(db, args.chip, "chip"), _dut(db, args.sled, "sled")
    inventory.place_chip(db, chip.id, sled.id, args.slot, user=_who(args), reason=args.reason)
    print(f"{chip.serial} placed in sled {sled.serial} slot {args.slot}.")
    return EXIT_OK


def _remove(db, args) -> int:
    from labbench.storage import inventory

    chip = _dut(db, args.chip, "chip")
    slot = inventory.remove_chip(db, chip.id, user=_who(args), reason=args.reason)
    sled = inventory.get_dut(db, slot.sled_id)
    print(f"{chip.serial} taken out of sled {sled.serial} slot {slot.slot}.")
    return EXIT_OK


def _show(db, args) -> int:
    from labbench.storage import history, inventory

    dut = _dut(db, args.serial)
    out: dict = {
        "serial": dut.serial,
        "kind": dut.kind,
        **{
            name: getattr(dut, name)
            for name in ("part", "generation", "silicon_rev", "lot", "wafer", "notes")
        },
    }
    if dut.kind == "chip":
        out.update(wafer_x=dut.wafer_x, wafer_y=dut.wafer_y)
        serials = {}
        placements = []
        for p in inventory.chip_history(db, dut.id):
            if p.sled_id not in serials:
                serials[p.sled_id] = inventory.get_dut(db, p.sled_id).serial
            placements.append(
                {
                    "sled": serials[p.sled_id],
                    "slot": p.slot,
                    "placed_at": p.placed_at.isoformat(),
                    "removed_at": p.removed_at.isoformat() if p.removed_at else None,
                }
            )
        now = [p for p in placements if p["removed_at"] is None]
        out["sits_in"] = {"sled": now[0]["sled"], "slot": now[0]["slot"]} if now else None
        out["placements"] = placements
    else:
        chips = inventory.sled_slots(db, dut.id)
        out["slot_count"] = dut.slot_count
        count = dut.slot_count or (max(chips) + 1 if chips else 0)
        out["slots"] = [
            {"slot": n, "chip": chips[n].serial if n in chips else None} for n in range(count)
        ]
    out["runs"] = [
        {
            "run_id": r.id,
            "started_at": r.started_at.isoformat(),
            "dut": r.dut_serial,
            "plan": r.plan,
            "plan_version": r.plan_version,
            "verdict": r.status,
            "slot": r.slot,
            "chip_verdict": r.chip_verdict,
        }
        for r in history.dut_runs(db, dut.id)
    ]
    if args.json:
        print(json.dumps(out))
    else:
        _print_show(out)
    return EXIT_OK


def _print_show(out: dict) -> None:
    print(f"{out['kind']} {out['serial']}")
    for name in ("part", "generation", "silicon_rev", "lot", "wafer", "wafer_x", "wafer_y"):
        if out.get(name) not in (None, ""):
            print(f"  {name}: {out[name]}")
    if out["kind"] == "chip":
        where = out["sits_in"]
        print(
            "  sits in: " + (f"sled {where['sled']} slot {where['slot']}" if where else "no sled")
        )
        for p in out["placements"]:
            until = p["removed_at"][:16] if p["removed_at"] else "now"
            print(f"  placed: sled {p['sled']} slot {p['slot']}, {p['placed_at'][:16]} to {until}")
    else:
        print(f"  slots: {out['slot_count'] if out['slot_count'] is not None else 'not set'}")
        for s in out["slots"]:
            print(f"  slot {s['slot']}: {s['chip'] or 'empty'}")
    print(f"  runs: {len(out['runs'])}")
    for r in out["runs"]:
        chip = f": chip {r['chip_verdict']}" if r["chip_verdict"] else ""
        via = f"  (sled {r['dut']} slot {r['slot']}{chip})" if r["slot"] is not None else ""
        plan = f"{r['plan']} v{r['plan_version']}" if r["plan"] else "-"
        print(f"  {r['run_id']:>6}  {r['started_at'][:19]}  {r['verdict']:<11} {plan}{via}")


def _import(db, args) -> int:
    from labbench.storage import inventory

    rows, misshapen = read_traveller(Path(args.file))
    try:
        created = inventory.import_duts(
            db, rows, user=_who(args), reason=args.reason, rejected=misshapen
        )
    except inventory.ImportRejected as exc:
        raise UsageError(
            f"{args.file} has {_count(len(exc.problems), 'bad row')} and nothing was imported: "
            f"{exc}"
        ) from None
    placed = sum(1 for _, cells in rows if cells.get("sled", "").strip())
    duts, chips = _count(len(created), "DUT"), _count(placed, "chip")
    print(f"{duts} registered from {args.file} ({chips} placed).")
    return EXIT_OK


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def read_traveller(path: Path) -> tuple[list[tuple[int, dict[str, str]]], list[tuple[int, str]]]:
    """The rows of a traveller CSV as ``(line, cells)``, and the lines whose cell count does
    not match the header; a file that cannot be read or has a wrong header is a UsageError
    naming the file (and line)."""
    from labbench.storage.inventory import TRAVELLER_COLUMNS

    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = [name.strip().lower() for name in next(reader, [])]
            if not header:
                raise UsageError(f"{path} is empty: it needs the header {_header()}.")
            missing = [c for c in TRAVELLER_COLUMNS if c not in header]
            unknown = [c for c in header if c not in TRAVELLER_COLUMNS + OPTIONAL_TRAVELLER_COLUMNS]
            if missing or unknown:
                what = [f"lacks {', '.join(missing)}"] if missing else []
                what += [f"has unknown column(s) {', '.join(unknown)}"] if unknown else []
                raise UsageError(
                    f"{path} line 1: the header {' and '.join(what)} (expected {_header()})."
                )
            rows, bad = [], []
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(header):
                    text = f"it has {len(cells)} cells where the header has {len(header)}."
                    bad.append((reader.line_num, text))
                    continue
                rows.append((reader.line_num, dict(zip(header, cells, strict=True))))
    except OSError as exc:
        raise UsageError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{path} is not a readable UTF-8 CSV file ({exc}).") from None
    if not rows and not bad:
        raise UsageError(f"{path} has a header but no rows: nothing to import.")
    return rows, bad


def _header() -> str:
    from labbench.storage.inventory import TRAVELLER_COLUMNS

    return ",".join(TRAVELLER_COLUMNS) + "[,slots]"
