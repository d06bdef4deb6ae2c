"""The model registry: numbered versions of saved models, their signatures, aliases with an
audit record of every move, and promotion gates."""
