"""``llm-insights demo``: sample app + LLM stand-in + local Application Insights, a healthy phase
and an incident, every alert rule evaluated, workbook previews written (see ``runner.py``)."""
