"""The ranking of shops by current SH, with the criterion × shop matrix."""

from __future__ import annotations

import strawberry

from gateway.context import Info
from gateway.types.common import copied
from gateway.types.scores import Band, CriterionValue, MatrixRow
from gateway.types.scoring import Shop, load_shop
from services.scoring import domain, models


@strawberry.type(description="One shop's place in the ranking by current SH.")
class RankingEntry:
    rank: int
    shop_id: strawberry.ID
    shop_name: str
    assessment_id: strawberry.ID
    sh: float
    sh_rounded: float = strawberry.field(description="SH as shown: one decimal, half up.")
    band: Band
    criteria: list[CriterionValue]

    @classmethod
    def from_model(cls, entry: models.RankingEntry) -> RankingEntry:
        """The GraphQL form of a ranking entry."""
        return copied(
            cls,
            entry,
            criteria=[
                CriterionValue(criterion=domain.Criterion(c), value=v)
                for c, v in entry.criteria.items()
            ],
        )

    @strawberry.field(description="The ranked shop.")
    async def shop(self, info: Info) -> Shop | None:
        return await load_shop(info, str(self.shop_id))


@strawberry.type(description="Shops by current SH, with the criterion × shop matrix.")
class Ranking:
    items: list[RankingEntry]
    matrix: list[MatrixRow]
    total_count: int
    limit: int
    offset: int

    @classmethod
    def from_model(cls, ranking: models.Ranking) -> Ranking:
        """The GraphQL form of the ranking."""
        return copied(
            cls,
            ranking,
            items=[RankingEntry.from_model(e) for e in ranking.items],
            matrix=[MatrixRow.from_model(row) for row in ranking.matrix],
        )
