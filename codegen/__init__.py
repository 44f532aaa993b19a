"""Code generation for mattermost-plugin-sdk.

``proto/`` is the single source of truth. ``python -m codegen`` (``nox -s codegen``) derives
from it everything under ``src/mattermost_plugin`` that is marked generated:

* ``_pb/``: protobuf and gRPC stubs with type stubs (protoc via grpcio-tools, mypy-protobuf);
* ``models/``: Pydantic v2 models (descriptors → JSON Schema → datamodel-code-generator);
* ``_generated/``: proto ⇄ model converters, API client mixins and the hook table.

The output is deterministic: the same protos give byte-identical files.
"""
