"""Validated model configuration: what an area plus a scenario resolve to.

The models hold plain typed values only. Units, sources and confidence codes
are written beside each value in the TOML files and kept separately as
provenance (see :mod:`sim.loading`), so the simulation code never has to
unwrap annotations. Every model forbids unknown keys, so a misspelt parameter
is an error rather than a silently ignored default.
"""

from __future__ import annotations

import datetime as dt
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

AGE_BANDS: tuple[str, ...] = ("age_0_17", "age_18_64", "age_65_74", "age_75_84", "age_85_plus")
ACUITIES: tuple[str, ...] = ("low", "medium", "high")
CONTACTS: tuple[str, ...] = ("gp", "nhs111", "ambulance", "ucc", "ae")
SHARE_TOLERANCE = 1e-6
MAX_SEED = 2**63 - 1  # seeds are stored as 64-bit integers in the results

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
HourOfDay = Annotated[float, Field(ge=0.0, le=24.0)]
# Plausible ceilings for capacities, far above any English CCG's (Dudley: 14 ambulances,
# 600 beds, 3 rapid response clinicians): they catch a typo or an extra zero before a
# run tries to allocate it (vehicles = 10**12 would exhaust memory).
Staff = Annotated[int, Field(ge=0, le=2_000)]
Vehicles = Annotated[int, Field(ge=1, le=2_000)]
Beds = Annotated[int, Field(ge=1, le=50_000)]
Places = Annotated[int, Field(ge=0, le=50_000)]
ListSize = Annotated[int, Field(gt=0, le=200_000)]  # the largest English practices: ~100,000
PerThousandPerDay = Annotated[float, Field(ge=0.0, le=100.0)]  # GP slots, demand per 1,000
MIN_SERVICE_HOURS = 1.0  # a service open less than an hour a day is a typo, not a service


class StrictModel(BaseModel):
    """Base for every config block: unknown keys rejected, instances immutable."""

    # Infinity and NaN are never a meaningful parameter (a run with standard_hours=inf
    # reports 100% 4-hour performance): rejected at validation, naming the field.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # Where a number may arrive as text (a CSV cell): set True on that model.
    numbers_from_text: ClassVar[bool] = False

    @field_validator("*", mode="before")
    @classmethod
    def _true_false_only_where_asked(cls, value: Any, info: ValidationInfo) -> Any:
        """``true`` is not the number 1, ``0`` is not ``false`` and ``"600"`` is not the
        number 600: each kind of value only where that kind is meant, inside tables and
        lists too."""
        if info.field_name is None:
            return value
        problem = _kind_problem(value, cls.model_fields[info.field_name].annotation, cls)
        if problem:
            raise ValueError(problem)
        return value


def _kind_problem(value: Any, annotation: Any, model: type[StrictModel]) -> str | None:
    """Why ``value`` is the wrong kind for ``annotation`` (None if it is not), looking
    into dict values and list items; nested models check their own fields."""
    if value is None:
        return None  # optional fields: pydantic says whether None is allowed
    origin = get_origin(annotation)
    if origin is Annotated:
        return _kind_problem(value, get_args(annotation)[0], model)
    if origin is dict and isinstance(value, dict):
        value_type = get_args(annotation)[1]
        found = (_kind_problem(item, value_type, model) for item in value.values())
        return next((p for p in found if p), None)
    if origin in (list, tuple) and isinstance(value, list):
        item_type = get_args(annotation)[0]
        found = (_kind_problem(item, item_type, model) for item in value)
        return next((p for p in found if p), None)
    options = set(get_args(annotation)) if origin in (Union, UnionType) else {annotation}
    options = {get_args(o)[0] if get_origin(o) is Annotated else o for o in options}
    numeric = bool(options & {int, float})
    if isinstance(value, bool) and bool not in options and numeric:
        return "true/false is not accepted here: give a value"
    if bool in options and not isinstance(value, bool) and not numeric:
        return "true or false is needed here (no quotes, not 0/1)"
    if isinstance(value, str) and not model.numbers_from_text and str not in options and numeric:
        return "a number is needed here, not text (remove the quotes)"
    return None


class Shares(StrictModel):
    """Mixin check: all fields are shares of one whole and must sum to 1."""

    @model_validator(mode="after")
    def _sum_to_one(self) -> Shares:
        total = sum(float(v) for v in self.model_dump().values())
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ValueError(f"shares must sum to 1 (they sum to {total:.6g})")
        return self


class ByAgeBand(StrictModel):
    """One non-negative value per age band."""

    age_0_17: NonNegativeFloat
    age_18_64: NonNegativeFloat
    age_65_74: NonNegativeFloat
    age_75_84: NonNegativeFloat
    age_85_plus: NonNegativeFloat

    def as_tuple(self) -> tuple[float, ...]:
        return tuple(float(getattr(self, band)) for band in AGE_BANDS)


class ProbabilityByAgeBand(ByAgeBand):
    age_0_17: Probability
    age_18_64: Probability
    age_65_74: Probability
    age_75_84: Probability
    age_85_plus: Probability


class ByAcuity(StrictModel):
    """One non-negative value per acuity level."""

    low: NonNegativeFloat
    medium: NonNegativeFloat
    high: NonNegativeFloat

    def as_tuple(self) -> tuple[float, float, float]:
        return (float(self.low), float(self.medium), float(self.high))


class ProbabilityByAcuity(ByAcuity):
    low: Probability
    medium: Probability
    high: Probability


class AcuityShares(ProbabilityByAcuity, Shares):
    """Shares of episodes by acuity."""


class AgeMix(ProbabilityByAgeBand, Shares):
    """Shares of a registered list by age band."""

    numbers_from_text = True  # a practices.csv cell


class ContactShares(Shares):
    """Where an episode first seeks help."""

    gp: Probability
    nhs111: Probability
    ambulance: Probability
    ucc: Probability
    ae: Probability

    def as_tuple(self) -> tuple[float, ...]:
        return tuple(float(getattr(self, c)) for c in CONTACTS)


class FallbackShares(Shares):
    """Where an episode goes when a GP same-day slot is not to be had."""

    nhs111: Probability
    ambulance: Probability
    ucc: Probability
    ae: Probability

    def as_tuple(self) -> tuple[float, ...]:
        return (0.0, float(self.nhs111), float(self.ambulance), float(self.ucc), float(self.ae))


class GPOutcomeShares(Shares):
    """What a GP does with an urgent consultation. A patient sent to hospital is admitted
    or not by the same decision A&E would make (the episode's own admission need)."""

    resolved: Probability
    refer_rrt: Probability
    refer_hospital: Probability

    def as_tuple(self) -> tuple[float, ...]:
        return (self.resolved, self.refer_rrt, self.refer_hospital)


class NHS111OutcomeShares(Shares):
    advice: Probability
    gp: Probability
    ambulance: Probability
    ucc: Probability
    ae: Probability

    def as_tuple(self) -> tuple[float, ...]:
        return (self.advice, self.gp, self.ambulance, self.ucc, self.ae)


class Practice(StrictModel):
    """One GP practice row of an area's practices table."""

    numbers_from_text = True  # every cell of a CSV is text

    practice_code: str = Field(min_length=1)
    practice_name: str = Field(min_length=1)
    locality: str = Field(min_length=1)
    list_size: ListSize
    list_size_confidence: Literal["S", "P", "E"]
    list_size_source: str
    age_mix: AgeMix
    age_mix_confidence: Literal["S", "P", "E"]
    age_mix_source: str


class AreaInfo(StrictModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    display_name: str
    baseline_year: str = Field(pattern=r"^\d{4}/\d{2}$")
    start_date: dt.date
    practices_file: str = "practices.csv"
    description: str = ""

    @model_validator(mode="after")
    def _baseline_year_starts_on_start_date(self) -> AreaInfo:
        """Report years are counted from start_date, so the labels must agree with it."""
        first = int(self.baseline_year[:4])
        if (first + 1) % 100 != int(self.baseline_year[5:]):
            raise ValueError(f"baseline_year {self.baseline_year!r} is not a financial year")
        expected = dt.date(first, 4, 1)
        if self.start_date != expected:
            raise ValueError(
                f"start_date {self.start_date} does not start baseline_year "
                f"{self.baseline_year} (expected {expected}): years would be mislabelled"
            )
        return self


MAX_YEARS = 20  # the plans look five years ahead; beyond 20 the demography is guesswork


class RunSettings(StrictModel):
    years: Annotated[int, Field(ge=1, le=MAX_YEARS)] = 5
    warmup_days: Annotated[int, Field(ge=0, le=730)] = 120
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 20140401


class Condition(StrictModel):
    prevalence_weight: PositiveFloat
    episode_rate_multiplier: PositiveFloat
    ambulatory_care_sensitive: bool


class PopulationParams(StrictModel):
    growth_per_year: Annotated[float, Field(ge=-0.1, le=0.2)]
    ltc_prevalence: ProbabilityByAgeBand
    conditions: dict[str, Condition] = Field(min_length=1)
    extra_conditions_mean: ByAgeBand
    extra_condition_rate_factor: NonNegativeFloat
    care_home_share: ProbabilityByAgeBand
    care_home_rate_multiplier: PositiveFloat
    risk_frailty_shape: PositiveFloat
    risk_drift_sd: NonNegativeFloat
    risk_drift_autocorrelation: Annotated[float, Field(ge=0.0, lt=1.0)]


class DiagnosisParams(StrictModel):
    """What an urgent episode is *for*, as far as the emergency admissions composite
    (NHS Outcomes Framework 2.3i + 2.3ii + 3a + 3.2) needs to know.

    The label does not change how an episode flows; it decides which indicator
    counts it if it ends in an admission.
    """

    chronic_acs_episode_share: Probability
    under_19_episode_share: Probability
    under_19_conditions: list[str]
    acute_acs_share: ProbabilityByAgeBand
    child_lrti_share: Probability

    @model_validator(mode="after")
    def _shares_fit_in_one(self) -> DiagnosisParams:
        acute = self.acute_acs_share.as_tuple()
        children = self.under_19_episode_share + acute[0] + self.child_lrti_share
        adults = self.chronic_acs_episode_share + max(acute[1:])
        for who, total in (("children (0-17)", children), ("adults", adults)):
            if total > 1.0 + SHARE_TOLERANCE:
                raise ValueError(
                    f"an episode carries one diagnosis group only: for {who} the chronic, "
                    f"acute ACS and LRTI shares sum to {total:.3g} > 1"
                )
        return self


class DemandParams(StrictModel):
    ltc_episode_rate: ByAgeBand
    background_episode_rate: ByAgeBand
    rate_trend_per_year: Annotated[float, Field(ge=-0.1, le=0.2)]
    ltc_acuity: AcuityShares
    background_acuity: AcuityShares
    hour_of_day: list[NonNegativeFloat] = Field(min_length=24, max_length=24)
    day_of_week: list[NonNegativeFloat] = Field(min_length=7, max_length=7)
    month_of_year: list[NonNegativeFloat] = Field(min_length=12, max_length=12)
    diagnosis: DiagnosisParams

    @field_validator("hour_of_day", "day_of_week", "month_of_year")
    @classmethod
    def _not_all_zero(cls, weights: list[float]) -> list[float]:
        if sum(weights) <= 0:
            raise ValueError("profile weights must not all be zero")
        return weights


class FirstContactParams(StrictModel):
    preference: dict[Literal["low", "medium", "high"], ContactShares]
    when_gp_unavailable: dict[Literal["low", "medium", "high"], FallbackShares]

    @model_validator(mode="after")
    def _every_acuity(self) -> FirstContactParams:
        for table in ("preference", "when_gp_unavailable"):
            missing = set(ACUITIES) - set(getattr(self, table))
            if missing:
                raise ValueError(
                    f"{table} needs an entry for every acuity; missing {sorted(missing)}"
                )
        return self


class OpeningHours(StrictModel):
    """Opening hours on weekdays and at weekends; close == open means closed."""

    weekday_open: HourOfDay
    weekday_close: HourOfDay
    weekend_open: HourOfDay
    weekend_close: HourOfDay

    @model_validator(mode="after")
    def _close_after_open(self) -> OpeningHours:
        for day in ("weekday", "weekend"):
            if getattr(self, f"{day}_close") < getattr(self, f"{day}_open"):
                raise ValueError(f"{day}_close must not be before {day}_open")
        return self


class GPParams(StrictModel):
    hours: OpeningHours
    sameday_slots_per_1000_per_day: PerThousandPerDay
    weekend_slot_factor: Annotated[float, Field(ge=0.0, le=10.0)]
    routine_sameday_demand_per_1000_per_day: PerThousandPerDay
    outcome: dict[Literal["low", "medium", "high"], GPOutcomeShares]
    # Of the patients a GP sends to hospital who need admission, the share admitted
    # directly (assessment unit / bed bureau) rather than through A&E.
    direct_admission_share: Probability = 0.0


class NHS111Params(StrictModel):
    outcome: dict[Literal["low", "medium", "high"], NHS111OutcomeShares]


def _check_hours(name: str, open_hour: float, close_hour: float) -> None:
    if close_hour - open_hour < MIN_SERVICE_HOURS:
        raise ValueError(
            f"{name} open_hour {open_hour:g} to close_hour {close_hour:g}: close must be at "
            f"least {MIN_SERVICE_HOURS:g} hour after open (24 = midnight); a closed service is "
            "switched off by its capacity, not its hours"
        )


class RapidResponseParams(StrictModel):
    staff: Staff
    open_hour: HourOfDay
    close_hour: HourOfDay
    response_target_hours: PositiveFloat
    visit_hours_mean: PositiveFloat  # the clinician's time with the patient
    # Travel to the patient: part of the response time and of the clinician's time.
    travel_hours_mean: NonNegativeFloat = 0.0
    # Short-term support after a patient is kept at home: visits one day apart, each
    # holding a clinician like the first (first come, first served with new referrals).
    follow_up_visits: Annotated[int, Field(ge=0, le=14)] = 0
    acceptance: Probability
    managed_at_home: ProbabilityByAcuity
    virtual_ward_places: Places
    virtual_ward_days: Annotated[float, Field(ge=0.0, le=90.0)]
    # Staff on duty per locality team (each serves its own locality's patients); empty:
    # one team for the whole area. When given, every locality has a team and the teams
    # add up to ``staff``.
    teams: dict[str, Staff] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _open_some_hours(self) -> RapidResponseParams:
        _check_hours("rapid response", self.open_hour, self.close_hour)
        return self


class AmbulanceParams(StrictModel):
    vehicles: Vehicles
    hear_and_treat: ProbabilityByAcuity
    see_and_treat: ProbabilityByAcuity
    # Travel from dispatch to the scene (mean): the response time is the wait for a
    # vehicle plus this.
    travel_to_scene_hours_mean: NonNegativeFloat = 0.0
    scene_hours_mean: PositiveFloat
    convey_to_handover_hours_mean: PositiveFloat
    handover_turnaround_hours: NonNegativeFloat


class UCCParams(StrictModel):
    clinicians: Annotated[int, Field(ge=1, le=2_000)]
    open_hour: HourOfDay
    close_hour: HourOfDay
    treatment_hours_mean: ByAcuity
    transfer_to_ae: ProbabilityByAcuity

    @model_validator(mode="after")
    def _open_some_hours(self) -> UCCParams:
        _check_hours("UCC", self.open_hour, self.close_hour)
        return self


class AEParams(StrictModel):
    clinicians_by_hour: list[Staff] = Field(min_length=24, max_length=24)
    triage_staff: Annotated[int, Field(ge=1, le=2_000)]
    triage_hours_mean: PositiveFloat
    treatment_hours_mean: ByAcuity
    treatment_time_distribution: Literal["lognormal", "exponential"] = "lognormal"
    treatment_time_cv: NonNegativeFloat
    results_wait_hours_mean: ByAcuity
    admit_probability: ProbabilityByAcuity
    admit_multiplier_65_plus: PositiveFloat
    admit_multiplier_ltc: PositiveFloat
    standard_hours: PositiveFloat = 4.0
    # The "4-hour effect": departments decide on patients about to breach, so a share
    # of those whose tests and observation would run past the standard leave (or are
    # referred for a bed) ``managed_margin_hours`` before it.
    managed_to_standard_share: Probability = 0.0
    managed_margin_hours: Annotated[float, Field(ge=0, le=2)] = 0.25

    # Clinicians of the minors (see-and-treat) stream, out of ``clinicians_by_hour``: while
    # it is staffed, low-acuity patients queue for them and not behind majors.
    minors_clinicians_by_hour: list[Staff] = Field(
        default_factory=lambda: [0] * 24, min_length=24, max_length=24
    )

    @field_validator("clinicians_by_hour")
    @classmethod
    def _some_cover(cls, rota: list[int]) -> list[int]:
        if max(rota) < 1:
            raise ValueError("A&E needs at least one clinician in some hour")
        return rota

    @model_validator(mode="after")
    def _majors_always_covered(self) -> AEParams:
        for hour, (total, minors) in enumerate(
            zip(self.clinicians_by_hour, self.minors_clinicians_by_hour, strict=True)
        ):
            if minors > 0 and minors >= total:
                raise ValueError(
                    f"hour {hour:02d} puts {minors} of the {total} clinicians on duty in the "
                    "minors stream: services.ae.minors_clinicians_by_hour is taken out of "
                    "services.ae.clinicians_by_hour and must leave majors at least one"
                )
        return self


class WardParams(StrictModel):
    beds: Beds  # core (funded) beds for emergency admissions
    # Escalation beds, as a share of core beds: used only while every core bed is
    # full, as trusts open escalation areas under pressure.
    escalation_bed_share: Annotated[float, Field(ge=0, le=1)] = 0.0
    # Episodes needing admission that are admitted by a route outside the modelled front
    # doors (outpatient clinic, inter-hospital transfer, bed bureau): straight to a bed.
    other_route_share: Annotated[float, Field(ge=0, le=0.9)] = 0.0

    @property
    def escalation_beds(self) -> int:
        return round(self.beds * self.escalation_bed_share)

    los_days_mean: ByAgeBand
    los_acuity_multiplier: ByAcuity
    los_sigma: NonNegativeFloat
    same_day_discharge_share: Probability
    onward_care_share: ProbabilityByAgeBand
    onward_care_places: Annotated[int, Field(ge=1, le=50_000)]
    onward_care_days_mean: PositiveFloat
    # A patient medically fit but waiting for an onward-care place leaves by another
    # route (home with family support, a self-funded placement) after this long.
    onward_care_max_wait_days: PositiveFloat = 365.0
    readmission_probability: ProbabilityByAgeBand
    readmission_ltc_multiplier: PositiveFloat
    readmission_days_mean: PositiveFloat


class Services(StrictModel):
    gp: GPParams
    nhs111: NHS111Params
    rapid_response: RapidResponseParams
    ambulance: AmbulanceParams
    ucc: UCCParams
    ae: AEParams
    wards: WardParams


class Lever(StrictModel):
    """Common shape of an intervention: off by default, ramps in linearly."""

    enabled: bool = False
    start_year: Annotated[int, Field(ge=0, le=20)] = 1
    ramp_years: NonNegativeFloat = 1.0
    evidence: str = ""


class LeverScope(StrictModel):
    """Where a lever acts: named localities and/or practices (by code), from its own start
    year and over its own ramp (the lever's when absent). A roll-out is several scopes."""

    localities: list[str] = Field(default_factory=list)
    practices: list[str] = Field(default_factory=list)
    start_year: Annotated[int, Field(ge=0, le=20)] | None = None
    ramp_years: NonNegativeFloat | None = None

    @model_validator(mode="after")
    def _names_somewhere(self) -> LeverScope:
        if not self.localities and not self.practices:
            raise ValueError("a scope names at least one locality or practice")
        return self


class ScopedLever(Lever):
    """A lever that acts on patients of a place: the whole area unless ``scopes`` name
    localities or practices (levers acting at the hospital or the ambulance service for
    everyone have no scopes)."""

    scopes: list[LeverScope] = Field(default_factory=list)


class CaseManagement(ScopedLever):
    top_percent: Annotated[float, Field(ge=0.0, le=100.0)] = 2.0
    episode_rate_multiplier: Probability = 1.0
    restratify_months: Annotated[int, Field(ge=3, le=60)] = 12


class ExtendedGPAccess(ScopedLever):
    hours: OpeningHours = OpeningHours(
        weekday_open=8.0, weekday_close=20.0, weekend_open=8.0, weekend_close=18.0
    )
    # Who the hours beyond the practice's core hours serve: minor illness ("low") in
    # line with Whittaker 2016 (minor A&E attendances fell, total attendances did not),
    # or every acuity ("all", beyond that evidence).
    extended_hours_serve: Literal["low", "all"] = "low"
    extra_slots_per_1000_per_day: PerThousandPerDay = 0.0


class RapidResponseExpansion(ScopedLever):
    """More staff (``extra_staff`` on duty in each of the lever's scopes, the whole area
    by default, shared between the scope's teams by list size), a higher acceptance and
    later closing. Scopes need locality teams (``services.rapid_response.teams``)."""

    extra_staff: Staff = 0
    acceptance: Probability | None = None
    close_hour: HourOfDay | None = None
    # Virtual-ward places opened with the lever (on its own ramp, for the whole area),
    # beyond any the area has at baseline (services.rapid_response.virtual_ward_places).
    virtual_ward_places: Places = 0


class AmbulancePathfinder(Lever):
    referral_share: Probability = 0.0


class FrontDoorStreaming(Lever):
    streamed_share_low: Probability = 0.0
    streamed_share_medium: Probability = 0.0


class CareHomeGPCover(ScopedLever):
    episode_rate_multiplier: Probability = 1.0


class EnhancedDischarge(Lever):
    los_multiplier: Annotated[float, Field(gt=0.0, le=2.0)] = 1.0
    extra_onward_care_places: Places = 0


class SelfManagement(ScopedLever):
    low_acuity_rate_multiplier: Probability = 1.0


# Levers that act on patients of a place, so they may be scoped to localities/practices.
SCOPED_LEVERS = (
    "case_management",
    "extended_gp_access",
    "care_home_gp_cover",
    "self_management",
    "rapid_response",
)


class Interventions(StrictModel):
    case_management: CaseManagement = CaseManagement()
    extended_gp_access: ExtendedGPAccess = ExtendedGPAccess()
    rapid_response: RapidResponseExpansion = RapidResponseExpansion()
    ambulance_pathfinder: AmbulancePathfinder = AmbulancePathfinder()
    front_door_streaming: FrontDoorStreaming = FrontDoorStreaming()
    care_home_gp_cover: CareHomeGPCover = CareHomeGPCover()
    enhanced_discharge: EnhancedDischarge = EnhancedDischarge()
    self_management: SelfManagement = SelfManagement()


class Demonstrator(StrictModel):
    """A place-based pilot to evaluate as its evaluators would: its localities against the
    rest of the area (the control), the year before it against its first year."""

    localities: list[str] = Field(min_length=1)
    before_year: Annotated[int, Field(ge=0, le=19)] = 0
    after_year: Annotated[int, Field(ge=1, le=20)] = 1

    @model_validator(mode="after")
    def _after_follows_before(self) -> Demonstrator:
        if self.after_year <= self.before_year:
            raise ValueError("after_year must come after before_year")
        return self


class ScenarioInfo(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    area: str | None = None
    demonstrator: Demonstrator | None = None


class ModelConfig(StrictModel):
    """Everything one replication needs: area, services, levers, run settings."""

    scenario: ScenarioInfo
    area: AreaInfo
    run: RunSettings = RunSettings()
    population: PopulationParams
    demand: DemandParams
    first_contact: FirstContactParams
    services: Services
    interventions: Interventions = Interventions()
    practices: tuple[Practice, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _diagnosis_conditions_exist(self) -> ModelConfig:
        unknown = set(self.demand.diagnosis.under_19_conditions) - set(self.population.conditions)
        if unknown:
            raise ValueError(
                f"demand.diagnosis.under_19_conditions names {sorted(unknown)}, not among "
                f"population.conditions ({sorted(self.population.conditions)})"
            )
        return self

    @model_validator(mode="after")
    def _extended_hours_after_opening(self) -> ModelConfig:
        lever = self.interventions.rapid_response
        if lever.enabled and lever.close_hour is not None:
            _check_hours(
                "rapid response (interventions.rapid_response.close_hour)",
                self.services.rapid_response.open_hour,
                lever.close_hour,
            )
        return self

    @model_validator(mode="after")
    def _scopes_name_places_that_exist(self) -> ModelConfig:
        localities = sorted({p.locality for p in self.practices})
        codes = [p.practice_code for p in self.practices]
        for lever_name in SCOPED_LEVERS:
            lever: ScopedLever = getattr(self.interventions, lever_name)
            field = f"interventions.{lever_name}.scopes"
            covered: set[str] = set()
            for scope in lever.scopes:
                unknown = [n for n in scope.localities if n not in localities]
                if unknown:
                    raise ValueError(
                        f"{field} names localities {unknown} that the area does not have; "
                        f"its localities: {localities}"
                    )
                unknown = [c for c in scope.practices if c not in codes]
                if unknown:
                    raise ValueError(
                        f"{field} names practices {unknown} that the area does not have; "
                        f"its practice codes: {codes}"
                    )
                chosen = {
                    p.practice_code
                    for p in self.practices
                    if p.locality in scope.localities or p.practice_code in scope.practices
                }
                twice = sorted(chosen & covered)
                if twice:
                    raise ValueError(f"{field} puts practices {twice} in more than one scope")
                covered |= chosen
        return self

    @model_validator(mode="after")
    def _demonstrator_in_the_area_and_the_run(self) -> ModelConfig:
        pilot = self.scenario.demonstrator
        if pilot is None:
            return self
        localities = sorted({p.locality for p in self.practices})
        unknown = [n for n in pilot.localities if n not in localities]
        if unknown:
            raise ValueError(
                f"scenario.demonstrator.localities names {unknown}, not localities of the "
                f"area; its localities: {localities}"
            )
        if len(set(pilot.localities)) == len(localities):
            raise ValueError(
                "scenario.demonstrator.localities covers every locality: no control is left"
            )
        if pilot.after_year >= self.run.years:
            raise ValueError(
                f"scenario.demonstrator.after_year is {pilot.after_year} but the run has "
                f"{self.run.years} years (report years 0 to {self.run.years - 1})"
            )
        return self

    @model_validator(mode="after")
    def _rapid_response_teams_cover_the_area(self) -> ModelConfig:
        teams = self.services.rapid_response.teams
        lever = self.interventions.rapid_response
        field = "services.rapid_response.teams"
        if teams:
            localities = sorted({p.locality for p in self.practices})
            unknown = sorted(set(teams) - set(localities))
            missing = sorted(set(localities) - set(teams))
            if unknown or missing:
                raise ValueError(
                    f"{field} needs one team per locality: unknown {unknown}, missing "
                    f"{missing}; the area's localities: {localities}"
                )
            total = sum(teams.values())
            if total != self.services.rapid_response.staff:
                raise ValueError(
                    f"{field} adds up to {total} staff on duty but "
                    f"services.rapid_response.staff is {self.services.rapid_response.staff}"
                )
        elif lever.scopes:
            raise ValueError(
                "interventions.rapid_response.scopes aims the lever at places, but the area "
                f"has one rapid response team: name its locality teams ({field})"
            )
        if any(scope.practices for scope in lever.scopes):
            raise ValueError(
                "interventions.rapid_response.scopes names practices: rapid response "
                "teams serve localities, so scope the lever by localities"
            )
        return self

    def renamed(self, name: str) -> ModelConfig:
        """The same config as another scenario (names must be unique in a batch)."""
        return self.model_copy(update={"scenario": self.scenario.model_copy(update={"name": name})})
