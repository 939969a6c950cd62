"""The firm register extract for the sample years and the years before, written as the
register delivers it (../shared/REGISTER_EXTRACT.md), with planted effects and selection.

The data-generating process, per firm i and register year t:
- cluster firms (the sample's companies) are larger, more often in cluster-prone
  industries, and so more productive in level and in faster-growing industries;
- cluster firms are also more productive in level than firms of their industry and size
  (MEMBER_PRODUCTIVITY_PREMIUM), and productivity raises the odds of innovating a little
  (INNOVATION_PER_LOG_PRODUCTIVITY): a comparison must balance pre-period productivity too;
- a firm's persistent log labour productivity grows by its industry's growth of the year (each
  industry on its own trend: the cluster-prone ones faster and faster, INDUSTRY_GROWTH_TREND),
  a little faster in larger firms and in the capital region, plus noise, plus the growth
  effect in a year the firm takes part in a cluster;
- the productivity a register year shows is that level plus a transitory part (a good or bad
  year, TRANSITORY_PRODUCTIVITY) and the accounting noise of the reported fte: among firms of
  one productivity level in a year, the comparison firms are there more often by a good year
  and fall back the next, so a design matching growth on its base year's level finds an
  effect where there is none (regression to the mean), and one comparing every industry's
  growth with every other's finds the prone industries' acceleration;
- a firm in the innovation survey (a size-stratified sample, weights 1/probability)
  innovates with a logistic probability in size, industry and productivity, shifted by
  the innovation effect (log-odds) in a participating year.
The effects rise with the services a firm used (its services_used summed over its
memberships, in the bands of the service_bands seed) in the years the members files carry
them (template version 2); in the other participating years they are the base effects.
SMEs (register fte below the seed's limit) gain SME_INNOVATION_EXTRA more log-odds.
The truth, overall, per band, per size and for the slope over the bands, is computed from
the model's probabilities and planted effects, not from any estimator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cluster_pipeline.lib import seeds
from cluster_pipeline.lib.survey.model import load_contract
from cluster_pipeline.lib.survey.normalise import cvr_check
from cluster_pipeline.sample_data.organisations import Universe, make_cvr

YEARS_BEFORE = 4  # register years before the first reporting year
NON_MEMBER_FIRMS = 45_000  # at scale 1

# NACE division -> (cluster-prone, log productivity level, innovation log-odds shift)
DIVISIONS = {
    "10": (True, 0.15, 0.3),
    "21": (True, 0.60, 0.9),
    "26": (True, 0.40, 0.9),
    "27": (True, 0.30, 0.7),
    "28": (True, 0.30, 0.6),
    "62": (True, 0.35, 0.8),
    "71": (True, 0.20, 0.5),
    "72": (True, 0.30, 1.0),
    "25": (False, 0.05, 0.2),
    "41": (False, 0.00, -0.3),
    "43": (False, -0.05, -0.4),
    "45": (False, -0.05, -0.5),
    "46": (False, 0.10, -0.1),
    "47": (False, -0.20, -0.6),
    "49": (False, -0.05, -0.6),
    "56": (False, -0.40, -0.8),
    "68": (False, 0.20, -0.8),
    "69": (False, 0.15, -0.3),
    "81": (False, -0.30, -0.8),
    "96": (False, -0.35, -0.9),
}
PRONE_GROWTH, OTHER_GROWTH = 0.035, 0.010  # mean annual log productivity growth in the first register year
# its change per year since (log points a year): cluster-prone industries grow faster and faster
INDUSTRY_GROWTH_TREND = {True: 0.005, False: -0.001}
GROWTH_PER_LOG_FTE, CAPITAL_REGION_GROWTH = 0.003, 0.004  # size and region drive growth too
TRANSITORY_PRODUCTIVITY = 0.15  # sd of a register year's transitory log productivity (iid across years)
FTE_REPORTING_NOISE = 0.03  # sd of the reported fte's log error (value added is the true fte's)
GROWTH_EFFECT = 0.030  # +3.0 pp growth in a participating year (without services_used)
INNOVATION_EFFECT = 1.0  # log-odds shift in a participating year (without services_used)
# by band of services used (the service_bands seed): the effect rises with intensity
GROWTH_BY_BAND = (("0", 0.010), ("1-2", 0.020), ("3-5", 0.035), ("6+", 0.050))
INNOVATION_BY_BAND = (("0", 0.4), ("1-2", 0.8), ("3-5", 1.2), ("6+", 1.6))
SME_INNOVATION_EXTRA = 0.5  # more log-odds for an SME in a participating year
MEMBER_PRODUCTIVITY_PREMIUM = 0.15  # log points above firms of the same industry and size
INNOVATION_PER_LOG_PRODUCTIVITY = 0.3  # log-odds per log point of productivity above the industry's
SAMPLING = [(10, 0.06), (50, 0.20), (250, 0.50), (np.inf, 1.0)]  # fte below -> probability of being sampled
NO_ACCOUNTS, NEGATIVE_VA, UNIT_ERRORS = 0.03, 0.01, 0.001  # shares of firm-years

# the contract's column names, and the Statistics Denmark names (each column's first alias, upper case)
ENGLISH = [column.name for column in load_contract("register").columns]
DANISH = [column.aliases[0].upper() for column in load_contract("register").columns]


@dataclass(frozen=True)
class Effects:
    growth: float = GROWTH_EFFECT
    innovation: float = INNOVATION_EFFECT
    growth_by_band: tuple[tuple[str, float], ...] = GROWTH_BY_BAND
    innovation_by_band: tuple[tuple[str, float], ...] = INNOVATION_BY_BAND
    sme_innovation: float = SME_INNOVATION_EXTRA


NO_EFFECT = Effects(
    0.0, 0.0, tuple((b, 0.0) for b, _ in GROWTH_BY_BAND), tuple((b, 0.0) for b, _ in INNOVATION_BY_BAND), 0.0
)
PLANTED = Effects()  # the effects the sample plants by default


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _firms(rng: np.random.Generator, universe: Universe, scale: float, first_register_year: int) -> pd.DataFrame:
    """One row per firm: the sample's companies (all with a CVR) and the firms in no cluster."""
    members = universe.entities[universe.entities["actor_type"] == "company"]
    towns = seeds.municipalities()
    n_other = int(NON_MEMBER_FIRMS * scale)
    taken = set(universe.entities["cvr"])
    codes = np.array(list(DIVISIONS))
    prone = np.array([DIVISIONS[c][0] for c in codes])
    member_p = np.where(prone, 3.0, 1.0)
    other_p = np.where(prone, 1.0, 3.0)
    town_weights = np.where(towns["region_code"] == "1084", 2.0, 1.0)
    firms = pd.DataFrame(
        {
            "entity": np.concatenate([members["entity"].to_numpy(), [f"R{i:07d}" for i in range(n_other)]]),
            "cvr": np.concatenate([members["cvr"].to_numpy(), make_cvr(rng, n_other, taken)]),
            "division": np.concatenate(
                [
                    rng.choice(codes, len(members), p=member_p / member_p.sum()),
                    rng.choice(codes, n_other, p=other_p / other_p.sum()),
                ]
            ),
            "municipality_code": np.concatenate(
                [
                    members["municipality_code"].to_numpy(),
                    towns["municipality_code"].to_numpy()[
                        rng.choice(len(towns), n_other, p=town_weights / town_weights.sum())
                    ],
                ]
            ),
            "fte_base": np.concatenate(
                [np.maximum(members["employees"].to_numpy(), 0) * 0.9 + 0.5, rng.lognormal(1.5, 1.2, n_other)]
            ),
            "never_cvr": np.concatenate([members["never_cvr"].to_numpy(), np.zeros(n_other, dtype=bool)]),
        }
    )
    firms["industry_code"] = firms["division"] + pd.Series(rng.integers(0, 10_000, len(firms))).map("{:04d}".format)
    founded = rng.integers(1950, first_register_year, len(firms)).astype(float)
    founded[rng.random(len(firms)) < 0.05] = np.nan
    firms["founded_year"] = founded
    level = np.array([DIVISIONS[d][1] for d in firms["division"]])
    premium = np.where(firms["entity"].str.startswith("R"), 0.0, MEMBER_PRODUCTIVITY_PREMIUM)
    firms["excess_productivity"] = premium + rng.normal(0, 0.35, len(firms))  # above the industry and size
    firms["log_productivity_base"] = 6.0 + level + 0.08 * np.log1p(firms["fte_base"]) + firms["excess_productivity"]
    firms["innovation_shift"] = [DIVISIONS[d][2] for d in firms["division"]]
    firms["prone"] = [DIVISIONS[d][0] for d in firms["division"]]
    capital = set(towns.loc[towns["region_code"] == "1084", "municipality_code"])
    firms["capital_region"] = firms["municipality_code"].isin(capital)
    return firms


def _firm_years(
    rng,
    firms: pd.DataFrame,
    register_years: list[int],
    participation: dict[int, set[str]],
    services: dict[int, pd.Series],
    effects: Effects,
) -> pd.DataFrame:
    """Every firm in every register year, with the model's values (before any delivery error)."""
    n, years = len(firms), np.array(register_years)
    growth_by_band, innovation_by_band = dict(effects.growth_by_band), dict(effects.innovation_by_band)
    sme_limit = seeds.sme_employee_limit()
    # industry growth of each year: the division's mean plus a shock shared by its firms
    shocks = {(d, y): rng.normal(0, 0.01) for d in DIVISIONS for y in register_years}
    frames, log_productivity = [], firms["log_productivity_base"].to_numpy().copy()
    entity = firms["entity"].to_numpy()
    for year in years:
        treated = pd.Series(entity).isin(participation.get(int(year), set())).to_numpy()
        used = pd.Series(entity).map(services.get(int(year), pd.Series(dtype="float64"))).astype("float64")
        band = seeds.band_of_services(used).where(treated)
        growth_effect = np.where(treated, band.map(growth_by_band).fillna(effects.growth).to_numpy(dtype=float), 0.0)
        prone = firms["prone"].to_numpy()
        trend = np.where(prone, INDUSTRY_GROWTH_TREND[True], INDUSTRY_GROWTH_TREND[False]) * (year - years[0])
        mean_growth = (
            np.where(prone, PRONE_GROWTH, OTHER_GROWTH)
            + trend
            + np.array([shocks[(d, int(year))] for d in firms["division"]])
            + GROWTH_PER_LOG_FTE * np.log1p(firms["fte_base"].to_numpy())
            + CAPITAL_REGION_GROWTH * firms["capital_region"].to_numpy()
        )
        if year != years[0]:
            log_productivity = log_productivity + mean_growth + growth_effect + rng.normal(0, 0.08, n)
        true_fte = firms["fte_base"].to_numpy() * np.exp(rng.normal(0, 0.05, n))
        fte = np.round(true_fte * np.exp(rng.normal(0, FTE_REPORTING_NOISE, n)), 1)
        shown = log_productivity + rng.normal(0, TRANSITORY_PRODUCTIVITY, n)  # the year's accounts
        sampling = np.select([fte < limit for limit, _ in SAMPLING], [p for _, p in SAMPLING])
        sampled = rng.random(n) < sampling
        logit = (
            -2.6
            + 0.3 * np.log1p(fte)
            + firms["innovation_shift"].to_numpy()
            + INNOVATION_PER_LOG_PRODUCTIVITY * firms["excess_productivity"].to_numpy()
        )
        sme = fte < sme_limit
        innovation_effect = band.map(innovation_by_band).fillna(effects.innovation).to_numpy(dtype=float)
        p0, p1 = _logistic(logit), _logistic(logit + innovation_effect + effects.sme_innovation * sme)
        p = np.where(treated, p1, p0)
        frames.append(
            pd.DataFrame(
                {
                    "entity": entity,
                    "year": int(year),
                    "treated": treated,
                    "fte": fte,
                    "value_added": true_fte * np.exp(shown),
                    "sampled": sampled,
                    "weight": 1 / sampling,
                    "innovator": np.where(sampled, rng.random(n) < p, False),
                    "p0": p0,
                    "p1": p1,
                    "band": band.to_numpy(),
                    "services": used.to_numpy(),
                    "sme": sme,
                    "growth_effect": growth_effect,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _decimal(values: np.ndarray, digits: int) -> pd.Series:
    """Numbers as the register writes them: decimal comma, blank for missing."""
    rounded = pd.Series(np.round(values, digits))
    text = rounded.astype("Int64").astype(str) if digits == 0 else rounded.astype(str)
    return text.str.replace(".", ",", regex=False).where(rounded.notna(), "")


def _delivered_values(rng, firms: pd.DataFrame, year_rows: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The file's cells for one year, with accounts missing, losses and unit errors; and their counts."""
    n = len(year_rows)
    value_added = np.round(year_rows["value_added"].to_numpy(), 0)
    u = rng.random(n)
    no_accounts, negative = u < NO_ACCOUNTS, (u >= NO_ACCOUNTS) & (u < NO_ACCOUNTS + NEGATIVE_VA)
    unit_error = (u >= NO_ACCOUNTS + NEGATIVE_VA) & (u < NO_ACCOUNTS + NEGATIVE_VA + UNIT_ERRORS)
    value_added = np.where(negative, -value_added * rng.uniform(0.05, 0.5, n), value_added)
    value_added = np.where(unit_error, value_added * 1000, value_added)  # reported in DKK, not DKK 1,000
    turnover = np.abs(value_added) * rng.uniform(2, 4, n)
    value_added = np.where(no_accounts, np.nan, value_added)
    turnover = np.where(no_accounts, np.nan, turnover)
    sampled = year_rows["sampled"].to_numpy()
    cells = pd.DataFrame(
        {
            "cvr": firms["cvr"].to_numpy(),
            "year": str(int(year_rows["year"].iat[0])),
            "industry_code": firms["industry_code"].to_numpy(),
            "municipality_code": firms["municipality_code"].to_numpy(),
            "founded_year": firms["founded_year"].map(lambda v: "" if pd.isna(v) else str(int(v))).to_numpy(),
            "fte": _decimal(year_rows["fte"].to_numpy(), 1).to_numpy(),
            "value_added": _decimal(value_added, 0).to_numpy(),
            "turnover": _decimal(turnover, 0).to_numpy(),
            "innovation_sampled": np.where(sampled, "1", "0"),
            "innovator": np.where(sampled, np.where(year_rows["innovator"], "1", "0"), ""),
            "survey_weight": np.where(sampled, _decimal(year_rows["weight"].to_numpy(), 2), ""),
        }
    )
    return cells, {
        "no_accounts": int(no_accounts.sum()),
        "negative_value_added": int(negative.sum()),
        "unit_errors": int(unit_error.sum()),
    }


def _bad_check_digit(cvr: str) -> str:
    for last in "0123456789":
        candidate = cvr[:7] + last
        if candidate != cvr and not cvr_check(candidate):
            return candidate
    raise AssertionError("unreachable")


# (how a good row is corrupted, the rules it breaks); each is a copy of a real row, added to the file
BAD_ROWS = [
    (lambda r, y: r.update(cvr=_bad_check_digit(r["cvr"])), ["cvr.check_digit"]),
    (lambda r, y: r.update(year=str(y - 1)), ["year.reporting_year"]),
    (lambda r, y: r.update(industry_code="62AB01"), ["industry_code.pattern"]),
    (lambda r, y: r.update(municipality_code="999"), ["municipality_code.reference"]),
    (lambda r, y: r.update(fte="-2,0"), ["fte.range"]),
    (lambda r, y: r.update(fte="mange"), ["fte.number"]),
    (lambda r, y: r.update(founded_year=str(y + 3)), ["founded_year.not_after_year"]),
    (lambda r, y: r.update(innovation_sampled="1", innovator="", survey_weight="12,5"), ["innovator.required_when"]),
    (
        lambda r, y: r.update(innovation_sampled="1", innovator="0", survey_weight="0"),
        ["survey_weight.range_exclusive"],
    ),
    (
        lambda r, y: r.update(innovation_sampled="ja"),
        ["innovation_sampled.integer", "innovation_sampled.allowed_values"],
    ),
]


def _plant_bad_rows(rng, cells: pd.DataFrame, year: int) -> tuple[pd.DataFrame, list[list[str]]]:
    """Corrupted copies of good rows, and one CVR listed twice (both rows quarantined); shuffled in.
    Returns the cells in file order and the rules each row breaks ([] for a good row)."""
    picks = rng.choice(len(cells), size=len(BAD_ROWS) + 1, replace=False)
    added, rules = [], []
    for (corrupt, broken), pick in zip(BAD_ROWS, picks):
        row = {**cells.iloc[pick].to_dict(), "cvr": make_cvr(rng, 1, set(cells["cvr"]))[0]}
        corrupt(row, year)
        added.append(row)
        rules.append(broken)
    twin = cells.iloc[picks[-1]].to_dict()  # a second row for a real firm's CVR: both are ambiguous
    added.append({**twin, "fte": "3,0"})
    rules.append(["cvr.unique"])
    expected = [[] for _ in range(len(cells))]
    expected[picks[-1]] = ["cvr.unique"]
    frame = pd.concat([cells, pd.DataFrame(added)], ignore_index=True)
    order = rng.permutation(len(frame))
    everything = expected + rules
    return frame.iloc[order].reset_index(drop=True), [everything[i] for i in order]


def _effects_on(treated: pd.DataFrame) -> dict:
    """The effect on these treated firm-years, from the model's probabilities and planted growth."""
    m1, m0 = float(treated["p1"].mean()), float(treated["p0"].mean())
    return {
        "innovation": {
            "risk_difference_pp": 100 * (m1 - m0),
            "risk_ratio": m1 / m0,
            "odds_ratio": (m1 / (1 - m1)) / (m0 / (1 - m0)),
            "treated_firm_years": len(treated),
        },
        "productivity_growth": {"growth_difference_pp": 100 * float(treated["growth_effect"].mean())},
    }


def _slope(by_band: dict[str, dict], treated: pd.DataFrame, outcome: str, estimand: str) -> float:
    """The least-squares slope of the bands' effects on the mean services used in each band (per service)."""
    x = np.array([treated.loc[treated["band"] == band, "services"].mean() for band in by_band])
    y = np.array([effect[outcome][estimand] for effect in by_band.values()])
    return float(np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2))


def _joining(firm_years: pd.DataFrame, linkable: pd.Series, reporting_years: list[int]) -> dict:
    """The growth effect on firms from the year they join a cluster (after the first reporting year)
    to three years on, participating or not in each (the staggered-adoption estimand)."""
    mine = firm_years[firm_years["entity"].map(linkable).to_numpy() & firm_years["year"].isin(reporting_years)]
    first = mine[mine["treated"]].groupby("entity")["year"].min()
    joiners = first[first > min(reporting_years)]
    years_on = mine["year"] - mine["entity"].map(joiners)
    after = mine[years_on.between(0, 3)]
    return {"productivity_growth": {"growth_difference_pp": 100 * float(after["growth_effect"].mean())}}


def _truth(firm_years: pd.DataFrame, firms: pd.DataFrame, reporting_years: list[int], effects: Effects) -> dict:
    """The planted estimands over the participants' firm-years that can be linked (a company that
    never gives its CVR cannot): the effect on the treated, overall, per band of services used
    (the years with services_used), per size, and the slope over the bands."""
    linkable = ~firms.set_index("entity")["never_cvr"]
    treated = firm_years[
        firm_years["treated"] & firm_years["year"].isin(reporting_years) & firm_years["entity"].map(linkable).to_numpy()
    ]
    by_band = {band: _effects_on(treated[treated["band"] == band]) for band, _ in effects.innovation_by_band}
    return {
        "staggered": _joining(firm_years, linkable, reporting_years),
        **_effects_on(treated),
        "by_group": {
            "services_band": by_band,
            "size": {"sme": _effects_on(treated[treated["sme"]]), "large": _effects_on(treated[~treated["sme"]])},
        },
        "slope_per_service": {
            "innovation": {"risk_difference_pp": _slope(by_band, treated, "innovation", "risk_difference_pp")},
            "productivity_growth": {
                "growth_difference_pp": _slope(by_band, treated, "productivity_growth", "growth_difference_pp")
            },
        },
        "effects": {
            "growth_log_points": effects.growth,
            "innovation_log_odds": effects.innovation,
            "growth_log_points_by_band": dict(effects.growth_by_band),
            "innovation_log_odds_by_band": dict(effects.innovation_by_band),
            "sme_innovation_log_odds": effects.sme_innovation,
        },
    }


def generate_register(
    register: Path,
    universe: Universe,
    participation: dict[int, set[str]],
    reporting_years: list[int],
    scale: float,
    seed: int,
    effects: Effects = PLANTED,
    services: dict[int, pd.Series] | None = None,
) -> dict:
    """Write <register>/firms_<year>.csv for the reporting years and YEARS_BEFORE before; return the truth
    (planted estimands, planted bad rows, delivery errors)."""
    rng = np.random.default_rng([seed, 7])
    register = Path(register)
    register.mkdir(parents=True, exist_ok=True)
    for old in register.glob("firms_*.csv"):
        old.unlink()
    years = list(range(min(reporting_years) - YEARS_BEFORE, max(reporting_years) + 1))
    firms = _firms(rng, universe, scale, years[0])
    firm_years = _firm_years(rng, firms, years, participation, services or {}, effects)
    bad_rows, delivery = [], {}
    for i, (year, rows) in enumerate(firm_years.groupby("year", sort=True)):
        cells, delivery[int(year)] = _delivered_values(rng, firms, rows)
        cells, rules = _plant_bad_rows(rng, cells, int(year))
        name = f"firms_{year}.csv"
        bad_rows += [{"source_file": name, "source_row": row + 2, "rules": r} for row, r in enumerate(rules) if r]
        cells.columns = ENGLISH if i % 4 == 3 else [h if i % 2 else h.lower() for h in DANISH]
        # UTF-8 with a byte-order mark in some years, as Excel saves it
        cells.to_csv(register / name, sep=";", index=False, encoding="utf-8-sig" if i % 3 == 0 else "utf-8")
    (register / "LAESMIG.txt").write_text("Udtræk fra virksomhedsregistret. Fortroligt.\n", encoding="utf-8")
    return {
        **_truth(firm_years, firms, reporting_years, effects),
        "register_years": years,
        "bad_rows": bad_rows,
        "ignored_files": ["LAESMIG.txt"],
        "delivery_errors": delivery,
        "firms": len(firms),
        "rows": int(len(firm_years) + len(bad_rows) - len(years)),
    }


def write_register_truth(landing: Path, truth: dict) -> None:
    (Path(landing) / "_truth" / "register.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")


def load_register_truth(landing: Path) -> dict:
    return json.loads((Path(landing) / "_truth" / "register.json").read_text(encoding="utf-8"))
