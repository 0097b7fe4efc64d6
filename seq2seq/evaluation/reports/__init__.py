"""Human-readable evaluation reports: Markdown text and matplotlib figures."""
