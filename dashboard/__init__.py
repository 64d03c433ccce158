"""The Streamlit side of the dashboard: shared filters, cached data access, figures, formatting."""
