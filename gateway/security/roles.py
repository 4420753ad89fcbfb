"""Which role each root field needs, checked once per operation before anything runs.

Every query field needs VIEWER unless :data:`QUERY_ROLES` says more; every mutation field
must appear in :data:`MUTATION_ROLES` (a test fails when a new mutation lacks an entry, and at
run time an unlisted one needs ADMIN). An operation whose caller lacks the role of any of its
root fields is refused as a whole with ``FORBIDDEN`` naming the field and the role, so a
mutation document never half-runs.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
    get_operation_ast,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from gateway.security.principal import current_caller
from services.runtime.auth import Role
from services.runtime.errors import ErrorCode

A, M = Role.ANALYST, Role.ADMIN

MUTATION_ROLES: dict[str, Role] = {
    # shops and assessments: analysts' daily work
    "createShop": A,
    "updateShop": A,
    "deleteShop": A,
    "recordAssessment": A,
    # scoring configuration
    "createWeightProfile": M,
    "updateWeightProfile": M,
    "deleteWeightProfile": M,
    # risk register, mitigation, roadmap progress
    "createRisk": A,
    "updateRisk": A,
    "changeRiskStatus": A,
    "addMitigationAction": A,
    "updateMitigationAction": A,
    "updateRoadmapStage": A,
    "checkRoadmapSlippage": A,
    # monitoring configuration
    "createMonitoringRule": M,
    "updateMonitoringRule": M,
    "deleteMonitoringRule": M,
    # measurements and targets
    "reportKpiMeasurement": A,
    "reportMissingKpiData": A,
    "recordMeasurement": A,
    "setKpiTarget": A,
    "deleteKpiTarget": A,
    # KPI catalogue
    "createCustomKpi": M,
    "deleteCustomKpi": M,
    # access
    "createApiKey": M,
    "revokeApiKey": M,
}
"""The role each mutation needs."""

QUERY_ROLES: dict[str, Role] = {"apiKeys": M}
"""Query fields that need more than VIEWER."""

UNLISTED_MUTATION_ROLE = Role.ADMIN


def required_role(operation: OperationType, field: str) -> Role:
    """The role a root field of an operation of this type needs."""
    if operation is OperationType.MUTATION:
        return MUTATION_ROLES.get(field, UNLISTED_MUTATION_ROLE)
    return QUERY_ROLES.get(field, Role.VIEWER)


def root_fields(document: DocumentNode, operation_name: str | None) -> list[FieldNode]:
    """The root fields an operation selects, through fragments (not ``__typename``)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return []
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    found: list[FieldNode] = []
    seen: set[str] = set()

    def walk(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value != "__typename":
                    found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    seen.add(name)
                    walk(fragments[name].selection_set)

    walk(operation.selection_set)
    return found


def _refusal(code: ErrorCode, message: str, node: FieldNode | None, **extra: str) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=[node] if node is not None else None,
        extensions={"code": code.value, **extra},
    )


class RoleCheck(SchemaExtension):
    """Refuses an operation the caller's role does not cover, before it executes."""

    def on_execute(self) -> Iterator[None]:
        """Check every root field against the caller's role; on failure, skip execution."""
        context = self.execution_context
        error = self._refusal()
        if error is not None:
            context.result = ExecutionResult(data=None, errors=[error])
        yield

    def _refusal(self) -> GraphQLError | None:
        context = self.execution_context
        if context.graphql_document is None:
            return None
        caller = current_caller()
        if caller is None:
            return _refusal(ErrorCode.UNAUTHENTICATED, "authentication required", None)
        operation = context.operation_type
        for node in root_fields(context.graphql_document, context.operation_name):
            field = node.name.value
            needed = required_role(operation, field)
            if not caller.role.includes(needed):
                return _refusal(
                    ErrorCode.FORBIDDEN,
                    f"{field} needs the {needed.value} role; the caller has {caller.role.value}",
                    node,
                    field=field,
                    requiredRole=needed.value,
                )
        return None
