"""Plotly figures, built once in Python: the notebook shows them, REST returns their JSON."""
