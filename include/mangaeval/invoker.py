"""Calls a configuration's model the way its catalog entry says, so no caller picks ids or wires by hand:
Converse on the model id or on its inference profile (`ModelSpec.invoke_id`), or, for a team's own SageMaker
endpoint, InvokeEndpoint with its container's payload."""

from __future__ import annotations

from typing import Any

from mangaeval.bedrock import BedrockClient, CallResult
from mangaeval.models import ModelConfig, ModelSpec


class ModelInvoker:
    def __init__(self, bedrock: BedrockClient, catalog: dict[str, ModelSpec], sagemaker: Any | None = None):
        self.bedrock = bedrock
        self.catalog = catalog
        self._sagemaker = sagemaker

    @property
    def sagemaker(self) -> Any:
        if self._sagemaker is None:  # built on first use: most runs never call an endpoint
            from mangaeval.sagemaker import SageMakerClient

            self._sagemaker = SageMakerClient(self.bedrock.settings)
        return self._sagemaker

    def spec(self, config: ModelConfig) -> ModelSpec:
        return self.catalog[config.model_id]

    def call(self, config: ModelConfig, request: dict[str, Any], *, stream: bool = False) -> CallResult:
        spec = self.spec(config)
        if spec.api == "invoke_endpoint":
            return self.sagemaker.invoke(spec.endpoint_name, request)
        return self.bedrock.converse(spec.invoke_id, request, stream=stream)  # a model that cannot stream was refused upfront
