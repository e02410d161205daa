"""Request and response bodies of the HTTP API (pydantic; they document the OpenAPI spec)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from tidal.service.ids import EVENT_ID

__all__ = [
    "FreezeRequest",
    "LearnItem",
    "LearnRequest",
    "LearnResponse",
    "ModelInfo",
    "ModelVersion",
    "PredictRequest",
    "PredictResponse",
    "UnfreezeRequest",
]


def plain_scalar(v: Any) -> Any:
    """Reject what JSON carries but a model, its log or a response cannot: integers beyond the
    float range, and text with a lone surrogate (``"\\ud800"``), which is not UTF-8.

    >>> plain_scalar(3), plain_scalar("a")
    (3, 'a')
    >>> plain_scalar(10**400)
    Traceback (most recent call last):
    ...
    ValueError: an integer of 401 digits is outside the float range (about 1.8e308)
    """
    if type(v) is int:
        try:
            float(v)
        except OverflowError:
            digits = len(str(abs(v)))
            raise ValueError(
                f"an integer of {digits} digits is outside the float range (about 1.8e308)"
            ) from None
    elif isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError(
                f"text with a lone surrogate at character {e.start}: not valid Unicode"
            ) from None
    return v


#: a feature value as JSON carries it: numbers, text for categorical features, null for missing
Value = Annotated[float | int | str | bool | None, AfterValidator(plain_scalar)]
Label = Annotated[float | int | str | bool, AfterValidator(plain_scalar)]
Row = dict[Annotated[str, AfterValidator(plain_scalar)], Value]


#: a client's idempotency key: printable ASCII, so the log and the answers carry it unchanged
EventId = Annotated[str, Field(pattern="^" + EVENT_ID.pattern + "$")]
EVENT_ID_HELP = (
    "the client's id of this event: an item whose event_id was learned before (within "
    "learned_ids_max / learned_ids_ttl) is answered with its first sequence number, not learned "
    "again, so a client may re-send whatever it has no answer for"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelVersion(BaseModel):
    """Which model answered: the registry version and the last log event it had learned.

    >>> ModelVersion(seq=7).registry_version is None
    True
    """

    registry_version: str | None = Field(None, description="registry version (None: unregistered)")
    seq: int = Field(description="write-ahead-log sequence number of the last event learned")


class PredictRequest(_Strict):
    """One row (``row``) or many (``rows``): feature name -> value.

    >>> PredictRequest(row={"x": 1.0}).all_rows()
    [{'x': 1.0}]
    """

    row: Row | None = Field(None, description="one row of features")
    rows: list[Row] | None = Field(None, description="several rows of features")

    @model_validator(mode="after")
    def _one_of(self) -> PredictRequest:
        if (self.row is None) == (self.rows is None):
            raise ValueError("give exactly one of 'row' and 'rows'")
        if self.rows is not None and not self.rows:
            raise ValueError("'rows' is empty: give at least one row")
        return self

    def all_rows(self) -> list[dict[str, Any]]:
        return [self.row] if self.row is not None else list(self.rows or [])


class PredictResponse(BaseModel):
    """Predictions in request order, the ids to send delayed labels for, and the version.

    >>> PredictResponse(predictions=[1], prediction_ids=["a"], version={"seq": 1}).version.seq
    1
    """

    predictions: list[Any]
    prediction_ids: list[str]
    probabilities: list[dict[str, float]] | None = Field(
        None, description="class probabilities per row (classifiers only)"
    )
    version: ModelVersion


class LearnItem(_Strict):
    """A label with either the features or the id of an earlier prediction.

    >>> LearnItem(prediction_id="a1", label=0).features is None
    True
    """

    features: Row | None = Field(None, description="the row to learn")
    prediction_id: str | None = Field(
        None, max_length=64, description="learn the row of this earlier prediction instead"
    )
    label: Label = Field(description="the true label (classifiers) or value (regressors)")
    event_id: EventId | None = Field(None, description=EVENT_ID_HELP)

    @model_validator(mode="after")
    def _one_of(self) -> LearnItem:
        if (self.features is None) == (self.prediction_id is None):
            raise ValueError("give exactly one of 'features' and 'prediction_id'")
        return self


class LearnRequest(_Strict):
    """One item (``features`` or ``prediction_id``, with ``label``) or many (``items``).

    >>> len(LearnRequest(items=[{"features": {"x": 1.0}, "label": 1}]).all_items())
    1
    """

    features: Row | None = None
    prediction_id: str | None = Field(None, max_length=64)
    label: Label | None = None
    event_id: EventId | None = Field(None, description=EVENT_ID_HELP)
    items: list[LearnItem] | None = Field(None, description="several items, learned in order")

    @model_validator(mode="after")
    def _one_of(self) -> LearnRequest:
        single = self.features is not None or self.prediction_id is not None
        if self.items is not None:
            if single or self.label is not None or self.event_id is not None:
                raise ValueError("give either 'items' or one item's fields, not both")
            if not self.items:
                raise ValueError("'items' is empty: give at least one item")
        elif self.label is None:
            raise ValueError("'label' is required")
        elif not single:
            raise ValueError("give 'features' or 'prediction_id' with the label")
        elif self.features is not None and self.prediction_id is not None:
            raise ValueError("give exactly one of 'features' and 'prediction_id'")
        return self

    def all_items(self) -> list[LearnItem]:
        if self.items is not None:
            return self.items
        return [
            LearnItem(
                features=self.features,
                prediction_id=self.prediction_id,
                label=self.label,
                event_id=self.event_id,
            )
        ]


class LearnResponse(BaseModel):
    """Acknowledged only once the events are on disk.

    >>> LearnResponse(learned=1, first_seq=3, last_seq=3, version={"seq": 3}).already_learned
    []
    """

    learned: int = Field(description="events learned by this request")
    first_seq: int | None = Field(None, description="sequence number of the first of them")
    last_seq: int | None = Field(None, description="sequence number of the last of them")
    already_learned: list[int] = Field(
        default_factory=list,
        description="indices of items whose event_id or prediction_id was learned before "
        "(skipped: not learned again)",
    )
    seqs: list[int | None] | None = Field(
        None,
        description="per item: the sequence number it was learned at, by this request or, for "
        "an item in already_learned, by the first copy (None: quarantined)",
    )
    version: ModelVersion


class ModelInfo(BaseModel):
    """A served model and where it stands (more fields: see ``GET /v1/models/{name}``).

    >>> ModelInfo(name="default", fitted=False).name
    'default'
    """

    name: str
    model_config = ConfigDict(extra="allow")


class FreezeRequest(_Strict):
    """An admin pauses a model's learning, saying why (kept on disk and in the audit log).

    >>> FreezeRequest(reason="labels from the new source look wrong").by is None
    True
    """

    reason: str = Field(min_length=1, max_length=500, description="why learning is paused")
    by: str | None = Field(
        None, max_length=200, description="who (without auth; with it, the token's name)"
    )


class UnfreezeRequest(_Strict):
    """An admin lets a frozen model learn again.

    >>> UnfreezeRequest(why="labels fixed").why
    'labels fixed'
    """

    why: str | None = Field(None, max_length=500, description="why learning resumes")
    by: str | None = Field(
        None, max_length=200, description="who (without auth; with it, the token's name)"
    )
