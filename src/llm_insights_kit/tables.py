"""The classic Application Insights tables the kit queries, with their columns and Kusto types.

The kit's, not the SDK's: the Kusto schema the workbooks and rules are checked against
(``kql/schema.py``), the local store's tables and the rule fixtures' columns are built from it.
Which table each kind of telemetry lands in (``TABLE_METRICS``, ...) stays in the SDK's
``contract``, with the other telemetry names.
"""

from __future__ import annotations

from typing import Literal

KustoType = Literal["string", "datetime", "real", "long", "int", "bool", "dynamic"]

_CONTEXT_COLUMNS: tuple[tuple[str, KustoType], ...] = (
    ("operation_Name", "string"),
    ("operation_Id", "string"),
    ("operation_ParentId", "string"),
    ("operation_SyntheticSource", "string"),
    ("session_Id", "string"),
    ("user_Id", "string"),
    ("user_AuthenticatedId", "string"),
    ("user_AccountId", "string"),
    ("application_Version", "string"),
    ("client_Type", "string"),
    ("client_Model", "string"),
    ("client_OS", "string"),
    ("client_IP", "string"),
    ("client_City", "string"),
    ("client_StateOrProvince", "string"),
    ("client_CountryOrRegion", "string"),
    ("client_Browser", "string"),
    ("cloud_RoleName", "string"),
    ("cloud_RoleInstance", "string"),
    ("appId", "string"),
    ("appName", "string"),
    ("iKey", "string"),
    ("sdkVersion", "string"),
    ("itemId", "string"),
    ("itemType", "string"),
    ("itemCount", "int"),
)
_PROPS = (("customDimensions", "dynamic"), ("customMeasurements", "dynamic"))

TABLES: dict[str, tuple[tuple[str, KustoType], ...]] = {
    "requests": (
        ("timestamp", "datetime"),
        ("id", "string"),
        ("source", "string"),
        ("name", "string"),
        ("url", "string"),
        ("success", "bool"),
        ("resultCode", "string"),
        ("duration", "real"),
        ("performanceBucket", "string"),
        *_PROPS,
        *_CONTEXT_COLUMNS,
    ),
    "dependencies": (
        ("timestamp", "datetime"),
        ("id", "string"),
        ("target", "string"),
        ("type", "string"),
        ("name", "string"),
        ("data", "string"),
        ("success", "bool"),
        ("resultCode", "string"),
        ("duration", "real"),
        ("performanceBucket", "string"),
        *_PROPS,
        *_CONTEXT_COLUMNS,
    ),
    "customMetrics": (
        ("timestamp", "datetime"),
        ("name", "string"),
        ("value", "real"),
        ("valueCount", "int"),
        ("valueSum", "real"),
        ("valueMin", "real"),
        ("valueMax", "real"),
        ("valueStdDev", "real"),
        ("customDimensions", "dynamic"),
        *_CONTEXT_COLUMNS,
    ),
    "customEvents": (
        ("timestamp", "datetime"),
        ("name", "string"),
        *_PROPS,
        *_CONTEXT_COLUMNS,
    ),
    "traces": (
        ("timestamp", "datetime"),
        ("message", "string"),
        ("severityLevel", "int"),
        *_PROPS,
        *_CONTEXT_COLUMNS,
    ),
    "exceptions": (
        ("timestamp", "datetime"),
        ("problemId", "string"),
        ("handledAt", "string"),
        ("type", "string"),
        ("message", "string"),
        ("assembly", "string"),
        ("method", "string"),
        ("outerType", "string"),
        ("outerMessage", "string"),
        ("outerAssembly", "string"),
        ("outerMethod", "string"),
        ("innermostType", "string"),
        ("innermostMessage", "string"),
        ("innermostAssembly", "string"),
        ("innermostMethod", "string"),
        ("severityLevel", "int"),
        ("details", "dynamic"),
        *_PROPS,
        *_CONTEXT_COLUMNS,
    ),
}
