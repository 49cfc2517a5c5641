"""Registers the spec keys this package owns with the config loader."""
from jitrl.config import schema
from jitrl.workflow.criteria import validate_criteria

schema.register_extra_key("validation", "jitrl.workflow.criteria (success criteria of a validation run)",
                          validate_criteria)
