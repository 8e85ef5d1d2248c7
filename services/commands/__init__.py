"""Commands: what the decision log lets people do, read top to bottom in ``application.py``.

- ``application``     :class:`DecisionLog`: each command loads, decides, saves (one unit of work);
- ``scheduling``      keeping a release's scope and its features' schedules in agreement;
- ``decisions``       proposing, accepting and reversing decisions;
- ``change_requests`` what a decision asks to change, and applying it;
- ``reversal``        the compensating changes of a reversal, refused when later changes conflict;
- ``lineage``         which decisions shaped an entity, and what changed it again later;
- ``ranking``         features ranked by score as of any instant.

How a command is run and saved (plain or batched) is not decided here: the application is given
a :class:`services.store.command_path.CommandPath`.
"""
