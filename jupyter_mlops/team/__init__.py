"""Team mode: a PostgreSQL store shared by many people, where the database decides who may do
what (group roles, grants, row-level security) and who did it (`session_user`, written by
triggers), and a protected alias moves only by an approved promotion request.

- `matrix.py`: the roles and what each may do, table by table (the one source of the grants,
  the policies and docs/team.md's matrix);
- `setup.py`: `team init` (its SQL), `team add|remove|list`;
- `promotions.py`: alias policies and promotion requests;
- `events.py`: registry events and their delivery to hooks.
"""
