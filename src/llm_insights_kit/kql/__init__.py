"""KQL tooling shared by workbooks and alert rules: templating, schema, Kusto language service."""
