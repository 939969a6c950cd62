"""cluster-pipeline: sample data, runs through Dagster, and the demo."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from cluster_pipeline import settings
from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.operations import diagnosis
from cluster_pipeline.lib.vocabulary import FLAGS

FILE_STATUS_WORDS = {
    "ingested": "ingested",
    "quarantined": "set aside",
    "ignored": "ignored",
    "superseded": "superseded",
}


def parse_years(text: str) -> list[int]:
    """'2014-2018', '2016' or '2014,2016'."""
    years: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        years += range(int(first), int(last or first) + 1)
    return sorted(set(years))


def sample_data(args) -> int:
    try:
        import openpyxl  # noqa: F401  (the sample's workbooks)
    except ImportError:
        print(
            'sample-data: the sample writes workbooks with openpyxl: pip install "cluster_pipeline[sample]"',
            file=sys.stderr,
        )
        return 2
    from cluster_pipeline.sample_data.generate import generate

    years = parse_years(args.years)
    started = time.perf_counter()
    register = Path(settings.REGISTER.value(args.register))
    truths = generate(Path(args.landing), years, scale=args.scale, seed=args.seed, register=register)
    for year, truth in truths.items():
        print(
            f"{year}: {truth['member_rows']:>9,} good members rows, {truth['distinct_companies']:>8,} "
            "distinct companies, "
            f"{len(truth['bad_rows'])} planted bad rows, {len(truth['bad_files'])} broken files"
        )
    print(
        f"sample data in {Path(args.landing).resolve()} and the firm register extract in {register.resolve()} "
        f"({time.perf_counter() - started:.1f}s); truth in {Path(args.landing).resolve() / '_truth'}"
    )
    return 0


def dagster_home() -> Path:
    """The instance `run`, `demo` and `ui` share: DAGSTER_HOME, else data/dagster_home of the project."""
    home = Path(settings.DAGSTER_HOME.value()).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not os.environ.get("DAGSTER_HOME") and not config.exists():
        # the project-local instance: local storage under this folder (production: deploy/dagster.yaml)
        config.write_text(
            "# The instance of cluster-pipeline run, demo and ui: storage in this folder.\n"
            "# No usage data leaves a statistics office's machine (and no notice interrupts the run's summary).\n"
            "telemetry:\n  enabled: false\n"
            "nux:\n  enabled: false\n"  # no welcome pop-up over the demo's runs
        )
    return home


def _instance():
    """The shared instance, opened under a lock: two runs starting at once on a new home would
    both create its tables (sqlite: "table runs already exists")."""
    import dagster as dg

    from cluster_pipeline.lib.publish.year_lock import exclusive_lock

    home = dagster_home()
    os.environ["DAGSTER_HOME"] = str(home)
    waiting = f"waiting for another run that is opening the Dagster instance in {home} ..."
    with exclusive_lock(home / ".cluster_pipeline_instance.lock", on_wait=lambda: print(waiting, flush=True)):
        instance = dg.DagsterInstance.get()
        instance.get_runs(limit=1)  # the storage's tables exist before the lock is released
    return instance


def run(args) -> int:
    from cluster_pipeline.defs.resources import resources_from_env
    from cluster_pipeline.lib.publish.parquet_store import read_partition
    from cluster_pipeline.lib.publish.year_lock import year_lock
    from cluster_pipeline.year_runs import run_years

    resources = resources_from_env(args.landing, args.output, register=args.register)
    output = Path(resources["output"].path)
    years = parse_years(args.years)
    # identities and the impact measurement span all years: one run at a time per output folder, so that
    # the end state of any set of runs is the one the same runs give one after another
    waiting = f"waiting for another run that is writing {output.resolve()} ..."
    started = time.time()
    try:
        with _instance() as instance, year_lock(output, "identities", on_wait=lambda: print(waiting, flush=True)):
            outcome = run_years(years, resources, instance, progress=lambda line: print(line, flush=True))
            tracebacks = failure_tracebacks(instance, started)
    except KeyboardInterrupt:
        return _failed(f"the run of {args.years}", diagnosis.interrupted(), traceback.format_exc())
    except Exception:  # a fault outside any step (the instance, the lock, the output folder): said in one line
        text = traceback.format_exc()
        return _failed(f"the run of {args.years}", diagnosis.diagnose(text, output), text)
    together = (
        f"{years[0]}-{years[-1]} in one run per part of the graph" if outcome.one_run_per_part else "year by year"
    )
    print(f"\n{len(years)} year(s) in {outcome.seconds:.1f}s ({together})")
    for year, result in outcome.years.items():
        took = "" if outcome.one_run_per_part else f" ({result.seconds:.1f}s)"
        if not result.success:
            print(f"{year}: FAILED{took}\n    " + "\n    ".join(result.errors))
            continue
        manifest = read_partition(output, "ingest_manifest", year)
        ingested = manifest[manifest["status"] == "ingested"]
        files = ", ".join(f"{n} {FILE_STATUS_WORDS[status]}" for status, n in manifest["status"].value_counts().items())
        print(
            f"{year}: ok{took}\n    files: {files}\n    rows of ingested files: "
            f"{int(ingested['rows_read'].sum()):,} read = {int(ingested['rows_accepted'].sum()):,} accepted + "
            f"{int(ingested['rows_quarantined'].sum()):,} quarantined\n"
            f"    checks: {sum(c.passed for c in result.checks)} of {len(result.checks)} passed"
        )
        for check in result.checks:
            if not check.passed:
                named = check.metadata.get("cluster_ids")  # a check about clusters says which
                print(
                    f"    check not passed: {check.asset_key.to_user_string()} / {check.check_name}"
                    f" ({check.severity.value.lower()})" + (f": {named.value}" if named is not None else "")
                )
        # a file set aside, replaced or in conflict takes rows out of the figures: name each one, with why
        for file in manifest[manifest["reason"].notna()].itertuples():
            verb = "conflict" if file.conflict else "tie" if file.tie else FILE_STATUS_WORDS.get(file.status, "note")
            verb = "note" if verb == "ingested" else verb
            print(f"    {verb}: {file.source_file}: {file.reason}")
    checks = outcome.identity_checks
    print(
        f"company identities: checks {sum(c.passed for c in checks)} of {len(checks)} passed"
        + (f"; ids re-published for {', '.join(map(str, outcome.republished))}" if outcome.republished else "")
    )
    for error in outcome.identity_errors:
        print(f"    {error}")
    print(impact_summary(outcome, output, resources["register"].root))
    failed = [y for y, r in outcome.years.items() if not r.success]
    print(f"published tables in {output.resolve()}")
    reports = [output / "reports" / f"{y}.html" for y in years if y not in failed]
    for report in (r for r in reports if r.exists()):
        print(f"report for {report.stem}: {report.resolve()}")
    print(site_summary(outcome, output))
    print(indicator_table(output, [y for y in years if y not in failed]))
    # the parts over all years name the failed step itself; a year's list may only say that they failed
    errors = outcome.identity_errors + outcome.impact_errors + outcome.site_errors
    errors += [e for y in failed for e in outcome.years[y].errors]
    if errors:
        step = errors[0].split(":", 1)[0]
        what = f"{step} ({', '.join(map(str, failed))})" if failed else step
        return _failed(what, diagnosis.diagnose("\n".join(errors), output), "\n\n".join(tracebacks or errors))
    return 0


def failure_tracebacks(instance, since: float) -> list[str]:
    """Every failed step's full error (Dagster's event log) of the runs started since `since`."""
    import dagster as dg

    found = []
    for record in instance.get_run_records(filters=dg.RunsFilter(created_after=datetime.fromtimestamp(since, UTC))):
        for entry in instance.all_logs(record.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
            error = entry.dagster_event.event_specific_data.error
            found.append(f"{entry.dagster_event.step_key} (run {record.dagster_run.run_id}):\n{error.to_string()}")
    return found


def _failed(what: str, found: diagnosis.Diagnosis, text: str, logs: Path | None = None) -> int:
    """The failure in one line on stderr, the full text in a log file (its path in the line; in the
    instance's folder unless `logs` says where); the exit code."""
    log = diagnosis.write_log(text, logs or dagster_home() / "logs")
    print(diagnosis.one_line(what, found, log), file=sys.stderr)
    return found.exit_code


def site_summary(outcome, output: Path) -> str:
    """Where the statistics site is, the release it shows, or why it was not written."""
    from cluster_pipeline.lib.publish.parquet_store import read_table
    from cluster_pipeline.lib.publish.statistics_site import release_line

    if outcome.site_errors:
        return "statistics site: FAILED\n    " + "\n    ".join(outcome.site_errors)
    index = output / "site" / "index.html"
    revisions = read_table(output, "revisions")
    revised = 0 if revisions is None else len(revisions)
    return (
        f"statistics site: {index.resolve()} ({release_line(read_table(output, 'releases'))}; "
        f"{revised:,} revised figure(s) on record; downloads in {index.parent.resolve() / 'data'})"
    )


def impact_summary(outcome, output: Path, register: Path) -> str:
    """The headline impact estimates beside the naive comparison, or why there are none."""
    import pandas as pd

    from cluster_pipeline.lib.publish.parquet_store import read_table

    if outcome.impact_errors:
        return "impact measurement: FAILED\n    " + "\n    ".join(outcome.impact_errors)
    if outcome.impact_skipped:
        return f"impact measurement: skipped (no register files in {register.resolve()})"
    from cluster_pipeline.lib.impact.methods import NAIVE

    estimates = read_table(output, "impact_estimates")
    lines = ["impact measurement (participating firms against similar firms; 95% intervals):"]
    for row in estimates[estimates["headline"]].itertuples():
        naive = estimates[
            (estimates["outcome"] == row.outcome)
            & (estimates["estimand"] == row.estimand)
            & (estimates["method"] == NAIVE)
            & estimates["group_by"].isna()
        ]
        plain = f"; naive {naive['estimate'].iat[0]:.2f}" if len(naive) and pd.notna(naive["estimate"].iat[0]) else ""
        shown = "suppressed" if row.suppressed else f"{row.estimate:.2f} ({row.ci_low:.2f} to {row.ci_high:.2f})"
        lines.append(f"    {row.outcome} {row.estimand}: {shown}{plain}")
    for check in outcome.impact_checks:
        if not check.passed:
            lines.append(
                f"    check not passed: {check.asset_key.to_user_string()} / {check.check_name}"
                f" ({check.severity.value.lower()})"
            )
    return "\n".join(lines)


def indicator_table(output: Path, years: list[int]) -> str:
    """The national indicators, one line each, a column per year: value and status."""
    import pandas as pd

    from cluster_pipeline.lib.publish.parquet_store import read_partition

    if not years:
        return ""
    frames = [read_partition(output, "indicator_status", year).assign(year=year) for year in years]
    indicators = pd.concat(frames)
    marks = {"met": "met", "on_track": "on track", "not_met": "NOT MET"}
    cells = indicators.assign(
        cell=[
            f"{v:,.0f} {marks[s]}" if float(v).is_integer() else f"{v:,.2f} {marks[s]}"
            for v, s in zip(indicators["value"].fillna(0), indicators["status"])
        ]
    ).pivot(index="indicator_id", columns="year", values="cell")
    targets = indicators.drop_duplicates("indicator_id").set_index("indicator_id")["target"]
    width = max(len(i) for i in cells.index)
    lines = [
        "",
        "National indicators (Cluster Strategy 2016-2018): value and status per year",
        "",
        f"{'indicator':<{width}}  {'target':>7}  " + "  ".join(f"{y:>16}" for y in cells.columns),
    ]
    for indicator, row in cells.iterrows():
        lines.append(f"{indicator:<{width}}  {targets[indicator]:>7g}  " + "  ".join(f"{c:>16}" for c in row))
    return "\n".join(lines)


def explain(args) -> int:
    """The rows behind a published figure: a summary line, then one line per row (or CSV)."""
    from cluster_pipeline.lib.publish.explain import ExplainError, explain_company, explain_indicator, explain_outcome

    if hasattr(signal, "SIGPIPE"):  # `explain ... | head` ends quietly, as Unix tools do
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        if args.company:
            if args.year is not None:
                raise ExplainError("--company lists every year: leave out --year")
            found = explain_company(Path(args.output), args.company)
        elif args.year is None:
            raise ExplainError("--indicator and --outcome need --year")
        elif args.indicator:
            found = explain_indicator(Path(args.output), args.year, args.indicator)
        else:
            found = explain_outcome(Path(args.output), args.year, args.outcome, args.cluster, args.region)
    except ExplainError as error:
        print(f"explain: {error}", file=sys.stderr)
        return 2
    if args.format == "csv":
        from cluster_pipeline.lib.publish.exports import write_csv

        write_csv(found.rows, sys.stdout)
    else:
        print(found.summary())
        # a CSV file's rows have no sheet: shown blank, not as NaN
        shown = found.rows.fillna({"source_sheet": ""}) if "source_sheet" in found.rows else found.rows
        print(shown.to_string(index=False) if len(shown) else "(no rows)")
    if not found.agrees:
        print(
            f"explain: the rows listed give {found.listed:,.4g}, the published value is {found.published:,.4g}: "
            f"the published tables disagree with each other; re-run the year",
            file=sys.stderr,
        )
        return 3
    return 0


def check(args) -> int:
    """What the pipeline would accept, quarantine and set aside of these files; nothing published."""
    from cluster_pipeline.lib.contracts.pre_submission import as_text, batch_files, check_submission

    temporary = Path(tempfile.gettempdir()) / "cluster-pipeline"  # the check needs no instance: its log goes here
    paths = [Path(f) for f in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"check: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        found = check_submission(batch_files(paths), args.year)
    except Exception:  # a fault around the files (a folder not ours to read, a full disk): said in one line
        text = traceback.format_exc()
        return _failed(f"the check of {', '.join(args.files)}", diagnosis.diagnose(text, Path.cwd()), text, temporary)
    print(found.as_json() if args.format == "json" else as_text(found))
    return found.exit_code


def contracts(args) -> int:
    """The data contracts' versions: what changed between them, and which changes break old files."""
    from cluster_pipeline.lib.survey.changes import changelog
    from cluster_pipeline.lib.survey.template import load_template

    print(changelog(load_template()), end="")
    return 0


def partitions(args) -> int:
    """Every year whose landing folder holds files made a partition of the instance (the landing
    sensor, the nightly schedule, `run` and `ui` do this themselves)."""
    from cluster_pipeline.defs.partitions import add_partitions, partition_years, year_range
    from cluster_pipeline.lib.ingest.landing_state import year_folders

    landing = Path(settings.LANDING.value(args.landing))
    # not `with`: Dagster 1.13's instance __exit__ leaves its state storage set for the process
    instance = _instance()
    try:
        added = add_partitions(instance, year_folders(landing, *year_range()))
        known = partition_years(instance)
    finally:
        instance.dispose()
    print(f"reporting years (partitions of {dagster_home()}): {', '.join(map(str, known)) or 'none'}")
    print(f"added from {landing.resolve()}: {', '.join(added) or 'none'}")
    return 0


def ui(args) -> int:
    """The Dagster UI and daemon (schedules, sensors, alerts) on the instance `run` and `demo` use."""
    import shutil

    from cluster_pipeline.defs.partitions import add_partitions, year_range
    from cluster_pipeline.lib.ingest.landing_state import year_folders

    home = dagster_home()
    with _instance() as instance:  # the years with landing files are partitions before the UI shows them
        add_partitions(instance, year_folders(Path(settings.LANDING.value()), *year_range()))
    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    command = [dagster, "dev", "-m", "cluster_pipeline.definitions", "-h", args.host, "-p", str(args.port)]
    print(f"the Dagster UI on http://{args.host}:{args.port}/ (instance {home}); Ctrl-C stops it", flush=True)
    os.execve(dagster, command, {**os.environ, "DAGSTER_HOME": str(home)})
    return 0  # not reached: the UI replaces this process


def check_server(args) -> int:
    from cluster_pipeline.check_server import serve

    serve(args.host, args.port, args.max_upload_mb * 1024 * 1024)
    return 0


def demo(args) -> int:
    sample_data(args)
    code = run(args)
    print(what_next(Path(settings.OUTPUT.value(args.output)), Path(args.landing), parse_years(args.years)))
    return code


def what_next(output: Path, landing: Path, years: list[int]) -> str:
    """Where a newcomer goes after the demo: the UI on the demo's instance, the report, and
    explain and check lines that work on the demo's own data."""
    from cluster_pipeline.lib.publish.parquet_store import read_table

    last = years[-1]
    identities = read_table(output, "company_identities")
    lines = [
        "",
        "What next:",
        "  the Dagster UI:    .venv/bin/cluster-pipeline ui   (then open http://127.0.0.1:3000/; the demo's runs,",
        f"                     checks and metadata are in the instance {dagster_home()})",
        f"  the report:        {(output / 'reports' / f'{last}.html').resolve()}",
        f"  the site:          {(output / 'site' / 'index.html').resolve()}  (a page per cluster; JSON-stat, PX)",
        f"  explain a figure:  .venv/bin/cluster-pipeline explain --year {last} --indicator innovation",
    ]
    if identities is not None:
        # the company seen in most years (then the lowest id): there in every demo
        current = identities[(identities["company_id"] == identities["current_id"]) & identities["cvr"].notna()]
        if len(current):
            company = current.sort_values(["n_years", "company_id"], ascending=[False, True]).iloc[0]["company_id"]
            lines.append(f"  one company:       .venv/bin/cluster-pipeline explain --company {company}")
    lines.append(
        f"  check files:       .venv/bin/cluster-pipeline check {landing / str(last)}/<file>  (before sending)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cluster-pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    landing, output = settings.LANDING.value(), settings.OUTPUT.value()

    sample = commands.add_parser("sample-data", help="write the synthetic national sample into the landing folder")
    run_cmd = commands.add_parser("run", help="materialise the years through Dagster")
    demo_cmd = commands.add_parser("demo", help="sample data for 2014-2018, then run them all")
    for command in (sample, run_cmd, demo_cmd):
        command.add_argument("--landing", default=landing, help=f"landing folder (default {landing})")
        command.add_argument("--years", default="2014-2018", help="e.g. 2014-2018, 2016 or 2014,2016")
    for command in (sample, demo_cmd):
        command.add_argument("--scale", type=float, default=1.0, help="1.0 is about 12,000 companies a year")
        command.add_argument("--seed", type=int, default=2016)
    for command in (run_cmd, demo_cmd):
        command.add_argument("--output", default=output, help=f"published tables (default {output})")
    for command in (sample, run_cmd, demo_cmd):
        command.add_argument(
            "--register", default=None, help=f"firm register extract (default {settings.REGISTER.value()})"
        )
    explain_cmd = commands.add_parser(
        "explain",
        help="the companies and file rows behind a published figure",
        description="Explain a published figure down to the rows behind it.",
    )
    explain_cmd.add_argument("--output", default=output, help=f"published tables (default {output})")
    explain_cmd.add_argument("--year", type=int, help="reporting year (not with --company)")
    question = explain_cmd.add_mutually_exclusive_group(required=True)
    question.add_argument("--indicator", help=", ".join(seeds.indicator_measures()))
    question.add_argument("--outcome", help=", ".join(FLAGS[:-1]) + " or " + FLAGS[-1])
    question.add_argument("--company", help="a company_id (an old id is followed to the one it stands for now)")
    where = explain_cmd.add_mutually_exclusive_group()
    where.add_argument("--cluster", help="with --outcome: the figure of one cluster (e.g. DK-CL-003)")
    where.add_argument("--region", help="with --outcome: the figure of one region (1081-1085)")
    explain_cmd.add_argument("--format", choices=["table", "csv"], default="table")
    check_cmd = commands.add_parser(
        "check",
        help="before sending: what the pipeline would accept, quarantine or set aside of these files",
        description="Run the pipeline's own intake and contract validation on a cluster's files (one submission "
        "batch, as a year's landing folder), publishing nothing. Exit code 0: every file accepted whole; "
        "1: rows would be quarantined; 2: a file would be set aside.",
    )
    check_cmd.add_argument("files", nargs="+", metavar="FILE")
    check_cmd.add_argument("--year", type=int, help="reporting year (default: the one the files give)")
    check_cmd.add_argument("--format", choices=["text", "json"], default="text")
    contracts_cmd = commands.add_parser(
        "contracts",
        help="the data contracts' template versions",
        description="The survey template's contract versions (data_contracts/).",
    )
    contracts_cmd.add_argument(
        "action",
        choices=["diff"],
        help="diff: what changed from each version to the next, column by column, and which changes break old files",
    )
    server_cmd = commands.add_parser(
        "check-server",
        help="the same check as an upload page",
        description="A web page where a cluster secretariat uploads its files and "
        "sees what the pipeline would accept, quarantine or set aside.",
    )
    server_cmd.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    server_cmd.add_argument("--port", type=int, default=8080)
    upload_mb = int(seeds.thresholds()["max_upload_mb"])
    server_cmd.add_argument(
        "--max-upload-mb", type=int, default=upload_mb, help=f"largest upload accepted (default {upload_mb})"
    )
    partitions_cmd = commands.add_parser(
        "partitions",
        help="make every year with landing files a partition (for `dagster asset materialize`)",
        description="Reporting years are partitions once their landing folder holds files: the landing sensor, "
        "the nightly schedule, run and ui add them. This adds them without running anything.",
    )
    partitions_cmd.add_argument("--landing", default=landing, help=f"landing folder (default {landing})")
    ui_cmd = commands.add_parser(
        "ui",
        help="the Dagster UI and daemon on the instance run and demo use",
        description="Starts `dagster dev` (UI, schedules, sensors, alerts) on the same "
        "instance as `run` and `demo` (DAGSTER_HOME, else data/dagster_home).",
    )
    ui_cmd.add_argument("--host", default="127.0.0.1")
    ui_cmd.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    if args.command == "explain" and (args.cluster or args.region) and not args.outcome:
        parser.error("--cluster and --region go with --outcome")
    commands = {
        "sample-data": sample_data,
        "run": run,
        "demo": demo,
        "explain": explain,
        "check": check,
        "contracts": contracts,
        "check-server": check_server,
        "ui": ui,
        "partitions": partitions,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
