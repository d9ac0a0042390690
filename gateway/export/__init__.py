"""Exports of the journal and of deals (CSV, XLSX), reports and their charts."""
