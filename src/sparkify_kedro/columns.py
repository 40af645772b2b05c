"""Names of the columns the modeling tables share (model input, scores, calibration).

One home, so a table written by one stage and read by another cannot disagree on a name.
"""

USER = "user_id"
CUTOFF = "cutoff"
LABEL = "label"
SCORE = "score"
MODEL = "model"
PREDICTION = "prediction"
#: The key of every per-user table of the modeling stages: a user at a cutoff.
KEYS = [USER, CUTOFF]
