# %% [markdown]
# # A small study: does a bigger rapid response team cut emergency admissions?
#
# This example reproduces a small study end to end with the Python API: load the
# shipped Dudley scenarios, make a variant in code, run a batch on common random
# numbers, and read the answer (paired difference against do nothing, targets and
# income at risk) from DataFrames. It is plain Python in "percent" cells, so it
# runs as a script (`python docs/examples/small_study.py`) and opens as a
# notebook with jupytext. The test suite runs it with `UCSIM_QUICK=1` (a tenth
# of the population, fewer years and replications).

# %%
import os
import tempfile
from pathlib import Path

import sim
from sim.loading import project_root

QUICK = os.environ.get("UCSIM_QUICK") == "1"
scenarios = project_root() / "scenarios"

do_nothing = sim.load_scenario(scenarios / "do-nothing.toml")
base_case = sim.load_scenario(scenarios / "base-case.toml")

# %% [markdown]
# ## A variant made in code
# Four more rapid response clinicians on duty from 2015/16, everything else as the base case.
# `sim.modify` validates the change like a scenario file would and returns a new config.

# %%
extra_staff = base_case.interventions.rapid_response.extra_staff + 4
bigger_team = sim.rename(
    sim.modify(base_case, {"interventions.rapid_response.extra_staff": extra_staff}),
    "base-case-bigger-rrt",
)

study = [do_nothing, base_case, bigger_team]
if QUICK:  # a tenth of Dudley, so the test suite runs this in seconds
    study = [
        sim.modify(
            c,
            {
                "run.years": 2,
                "run.warmup_days": 30,
                "services.wards.beds": 56,
                "services.wards.onward_care_places": 20,
                "services.ae.clinicians_by_hour": [
                    max(1, round(n / 10)) for n in c.services.ae.clinicians_by_hour
                ],
                "services.ae.minors_clinicians_by_hour": [0] * 24,  # too few to stream
                "services.ae.triage_staff": 1,
                "services.ucc.clinicians": 1,
                "services.ambulance.vehicles": 2,
            },
        ).model_copy(
            update={
                "practices": tuple(
                    p.model_copy(update={"list_size": p.list_size // 10}) for p in c.practices
                )
            }
        )
        for c in study
    ]

# %% [markdown]
# ## Run the batch
# Replication r of every scenario shares its random numbers, so differences are paired.

# %%
out = Path(tempfile.mkdtemp(prefix="ucsim-study-")) / "run"
batch = sim.run_many(
    study,
    out,
    replications=2 if QUICK else 10,
    jobs=1 if QUICK else 2,
    backend="sequential" if QUICK else "loky",
)

# %% [markdown]
# ## The answer
# Emergency admissions in the final year: mean and 95% interval per scenario, then the
# paired difference from do nothing (with the unpaired interval beside it, to show what
# common random numbers buy).

# %%
final = batch.summary[batch.summary["year"] == batch.summary["year"].max()]
admissions = final[final["metric"] == "emergency_admissions"][
    ["scenario", "financial_year", "mean", "ci_low", "ci_high", "n"]
]
print(admissions.to_string(index=False))

diff = batch.differences
paired = diff[(diff["metric"] == "emergency_admissions") & (diff["year"] == diff["year"].max())]
print(
    paired[
        ["scenario", "mean_difference", "ci_low", "ci_high", "unpaired_ci_low", "unpaired_ci_high"]
    ].to_string(index=False)
)

# %% [markdown]
# ## Targets and income at risk

# %%
print(batch.targets[["scenario", "target_id", "year", "p_met", "status"]].to_string(index=False))
tables = sim.results(out)
finance = tables["finance"]
print(
    finance[(finance["line"] == "total_simulated") & (finance["year"] == finance["year"].max())][
        ["scenario", "provider", "income_at_risk", "ci_low", "ci_high"]
    ].to_string(index=False)
)

STUDY_RESULT = {"folder": out, "scenarios": sorted(admissions["scenario"])}
