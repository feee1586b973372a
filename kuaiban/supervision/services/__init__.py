"""Writes of the supervision domain, one module per subject:

- :mod:`.extensions` — extension requests and decisions,
- :mod:`.orders` — supervision orders (督办单) and their timeline,
- :mod:`.notifications` — in-app notifications and their e-mail,
- :mod:`.sweep` — the periodic sweep (alerts, overdue orders, notices, e-mail).
"""
