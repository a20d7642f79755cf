"""Local stand-ins for Azure: an ingestion endpoint, a DuckDB store of the classic Application
Insights tables that KQL runs on, and static workbook previews — nothing to deploy."""
