"""`ModelSerializer` whose fields are built once per class, not once per request.

DRF's ModelSerializer introspects the model and builds every field from scratch each time a
serializer is instantiated (`get_fields`: model metadata, field-kwarg mapping, translated
labels). For a read endpoint that was a third of the request's CPU. The built fields are
the same for every instance of a class (they depend on Meta and the model only), so they are
built once, kept unbound as a prototype, and each instance gets copies:

- plain fields are copied shallowly (a field's state is fixed after __init__; `bind()` then
  sets the per-instance name and parent on the copy only);
- nested serializers are deep-copied, as DRF itself does for declared fields, because they
  carry their own bound children.

Serializers that build fields from the request or context must not use this class.
"""

from __future__ import annotations

import copy
from typing import Any

from rest_framework import serializers


class CachedFieldsModelSerializer(serializers.ModelSerializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        cls = type(self)
        prototype = cls.__dict__.get("_prototype_fields")
        if prototype is None:
            prototype = super().get_fields()
            cls._prototype_fields = prototype  # per class: subclasses build their own
        return {name: _copy(field) for name, field in prototype.items()}


def _copy(field: serializers.Field) -> Any:
    if isinstance(field, serializers.BaseSerializer):
        return copy.deepcopy(field)
    return copy.copy(field)
