"""Build a corpus of real code that uses MLflow from pinned PyPI distributions.

    usage: python benchmarks/real_code.py [DIR] [--jobs N] [--list]

DIR defaults to /work/corpus/pypi when /work/corpus exists, else benchmarks/.corpus/pypi
(git-ignored). For every pin below it downloads the one archive (`pip download --no-deps`, an
sdist or a wheel as pinned, sha256-checked) into DIR/.archives/ and keeps only the `.py` and
`.ipynb` files whose bytes mention mlflow (any case), as DIR/<dist>-<version>/<path> (an sdist's
top folder is dropped). It then writes DIR/README.md: what is there, per distribution.

Idempotent: an archive already in DIR/.archives with the pinned sha256 is not fetched again, and
a distribution whose stamp (DIR/.stamps/<dist>-<version>.json) is there is not extracted again.
Needs Python 3.9+ with pip and PyPI (or a pip configuration that reaches it). Installs nothing.

The pins are integrations and plugins, trainer libraries with MLflow callbacks or loggers,
trackers that wrap several backends, export/migration tools, evaluation tools and tutorial
packages (see README.md in DIR for the per-distribution counts). The benchmark corpus's own
seven distributions (benchmarks/make_corpus.sh) are left out on purpose.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

Kind = Literal["sdist", "wheel"]


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    kind: Kind  # sdists are preferred (they carry tests, examples, notebooks); wheels where
    # PyPI has no sdist or its metadata cannot be prepared here
    sha256: str

    @property
    def dist(self) -> str:
        return f"{self.name}-{self.version}"


PINS: tuple[Pin, ...] = (
    Pin(
        "accelerate",
        "1.15.0",
        "sdist",
        "5654f8c5eaa0d4fa68b33e287a97765da6849bf6d51dcac874e73fbbddfb6134",
    ),
    Pin(
        "ahsi", "0.1.4", "sdist", "592aeecb00d5d057dec52415126a90391be755b02088c6b677df4b69cf648d05"
    ),
    Pin(
        "aim", "3.29.1", "wheel", "350e640c3c6bc532e0ad6d5cf6479f82f309a38bf05f84d30947d00a36f94523"
    ),
    Pin(
        "aim-mlflow",
        "0.2.1",
        "sdist",
        "e36cb10bbd41958a0b5383f2791491ad33904c8285d5378c79e95ad0d8ee52f9",
    ),
    Pin(
        "airflow-provider-mlflow",
        "1.1.0",
        "sdist",
        "ff4d3cb245f54e3ec113615f77536171d595f7fc732a5021932130b84574f51a",
    ),
    Pin(
        "atlogger",
        "0.2.3",
        "wheel",
        "e216bf390b6b94d5b50438d38a8c94d52bc41a38a70c28c8b0f62c57f9f5e387",
    ),
    Pin(
        "auto-mlflow",
        "1.5",
        "sdist",
        "2e4ef47b1e05e2d4f7cc9b781b3ad6fdbdf764fa293350a7f72b5ff815f6fc8a",
    ),
    Pin(
        "autogluon.tabular",
        "1.6.3",
        "wheel",
        "6511e7e3edf9a93bf7b214f2f6782c1e00f3755c2150f4863f031fd0b3f44895",
    ),
    Pin(
        "autogluon.timeseries",
        "1.6.3",
        "wheel",
        "8bcfaa7075d50507681fc5f7e0c3bb13503c94a6c63754992aa5f752654f6973",
    ),
    Pin(
        "azure-ai-ml",
        "1.35.2",
        "sdist",
        "fdb0b51755b70819628792f198e9895af82c9efb4721d731eb7e6119f4c8ff1d",
    ),
    Pin(
        "azureml-mlflow",
        "1.62.0.post6",
        "wheel",
        "5d610be27a41d85177565fb9474386ca5e0ced3e300cc9eb23bd79915d1ee510",
    ),
    Pin(
        "bentoml",
        "1.4.40",
        "sdist",
        "e46c06da1577b669d178541873b5938ac772e3882339b942e138a0c8fb245abc",
    ),
    Pin(
        "bertuner",
        "0.2.4",
        "sdist",
        "e26dbbc99ba1b91f6c1a3ac7ae30affd732e217bd65427c514c1b50aa24bbb22",
    ),
    Pin(
        "comet-for-mlflow",
        "0.1.9",
        "sdist",
        "43c675b53cb3c21b5378ec170d47421cfbd3ec3a03aa07f5d5fc5caaa3512f10",
    ),
    Pin(
        "ct-mlflow-lib",
        "0.7.1",
        "sdist",
        "a382cdd75b1e7c2e5bbf71f2aadd1841b6bf87b366443533a0eef6c2b66028ed",
    ),
    Pin(
        "dagster-mlflow",
        "0.29.27",
        "sdist",
        "ab2e0c9c6a627e5e523918b38bff536075736fc375f24436cb4d5c4cc3ed9f04",
    ),
    Pin(
        "darts",
        "0.48.1",
        "sdist",
        "d73bb99ec92273ab1f2b00b3c7471c0389e89e39fdc190e0bef08c93df1a0f5b",
    ),
    Pin(
        "dbnd-mlflow",
        "1.0.34.1",
        "sdist",
        "68a32f10543cf3122073008c6dc3e384817fb8e43263c91f916d17a3cdd841ce",
    ),
    Pin(
        "deep-learning-mlflow",
        "0.0.16",
        "sdist",
        "d16eb3ee432c74277e517625270c7eb8a784f9d7c6c807f1b23cf52bf68851ab",
    ),
    Pin(
        "dgtw-mlflow-utils",
        "1.0.4",
        "sdist",
        "d2c9d2fca5ad97b47d40b42be23220ffe87a3a7c3d367695c526b65acb5370bd",
    ),
    Pin(
        "evidently",
        "0.7.23",
        "sdist",
        "90ed736a85581c46410647dd3c1c957531c77231bb415e1021512238b12d5870",
    ),
    Pin(
        "flaml",
        "2.7.0",
        "sdist",
        "bcb526586800362da63a152bd9a2a2ff35e739a2a15d3ff40777f94062c3abe9",
    ),
    Pin(
        "flytekitplugins-mlflow",
        "1.16.31",
        "sdist",
        "e9d2111bf363c458cef6633b9aaa6fe9347a241d3f48698279fa4e8ddaff2031",
    ),
    Pin(
        "flyteplugins-mlflow",
        "2.12.1",
        "wheel",
        "c82c9a422fabe91589bea5a32acaee99dde06f86014e701fdd60788ea696ea15",
    ),
    Pin(
        "fromconfig-mlflow",
        "0.4.0",
        "sdist",
        "7d2b883fbec7f7c1c4ffd26ba0cb383eecf4b5d69819672476b40fbe388d6c84",
    ),
    Pin(
        "getml-mlflow",
        "0.1.2",
        "sdist",
        "b3d2b51c3636fcf1c007b38556e8ea154910d11c62d6d5a5013518390481947c",
    ),
    Pin(
        "giskard",
        "2.19.2",
        "sdist",
        "fc9cebbcfee35fd972f8f6ddffde56fe039608ebd0f291e902bded09b982fbf2",
    ),
    Pin(
        "gluepy-mlflow",
        "0.3.1",
        "sdist",
        "bc7ba24fefed1a776a9b3e20aaf670d6436dd9b40b61edf35c91c672eea12d69",
    ),
    Pin(
        "google-cloud-mlflow",
        "0.0.6",
        "sdist",
        "ffbb0434b5103c63b470b30007e450bf49e5d9900777ce97b9ec0d780d843509",
    ),
    Pin(
        "hpoflow",
        "0.1.4",
        "sdist",
        "95c3377ffc43e7aa705753a33d59d46c709c9a936907306a278e2aa446f1b8d3",
    ),
    Pin(
        "hydra-optuna-mlflow-sweeper",
        "0.1.3",
        "sdist",
        "ac97085774492a2ddced61f0f6158aef1c9f21860345aa227320fe720f67f0a1",
    ),
    Pin(
        "hydraflow",
        "0.23.2",
        "wheel",
        "a97f4f9c8dc8af7e1f8ce0346f3b7fa7791b17654b9c142dbebd3358f70b0590",
    ),
    Pin(
        "hydronaut",
        "2026.6",
        "sdist",
        "41d02f10810c7fdea1d62b9e9c82280efd32134b2989636d70bc83b3eea7b69d",
    ),
    Pin(
        "iapytoo",
        "0.1.2",
        "sdist",
        "e317f604bc92648666aeb8775b52539e23468fa1705c326a33e326de4117456d",
    ),
    Pin(
        "inspect-mlflow",
        "0.9.0",
        "sdist",
        "f9e9a0ba0293b433995fcc99ac290cbb55206e4bbd0eb5207ed90304330fac22",
    ),
    Pin(
        "keynet-train",
        "0.8.5",
        "sdist",
        "2670a6f026c463987fbb5ffda94a33967171083f7403cc85167e54f3a28906ce",
    ),
    Pin(
        "laco-logging",
        "1.0.0",
        "sdist",
        "30ec40c636dfbeb554a981bf11d2e830a31a1e6e714555fb0c9507715c64d5df",
    ),
    Pin(
        "langchain-community",
        "0.4.2",
        "sdist",
        "a99308160d53d7e9b5965ee665e5173709914338210089fd5788ad724432c21e",
    ),
    Pin(
        "lit-mlflow",
        "0.1.2",
        "sdist",
        "ec48dbbbf767cf5b8263c865a9b9b84d45e2d7af2fef54d041151112fa576b4b",
    ),
    Pin(
        "llm-foundry",
        "0.22.0",
        "sdist",
        "0b3cda380d7c2c7dba7d77338e033b6be033dc90b8552dab402917320e1591b2",
    ),
    Pin(
        "ludwig",
        "0.17.10",
        "sdist",
        "1c827c25b6da6987538b90d010523482dd09d1fc22fce7a96ab3d75e3574bf5c",
    ),
    Pin(
        "matrainer",
        "0.1.0a2",
        "sdist",
        "c468dd5a52de4e73bcd88e2ff63c6d648f028773f9f14ecef25cbfdda2b31e94",
    ),
    Pin(
        "mlf-core",
        "1.11.4",
        "sdist",
        "65b55decac92cd41150278975aa9a3152e7e9366b30fbe869eaf512956079a9a",
    ),
    Pin(
        "mlflow-autogluon",
        "0.2.0",
        "sdist",
        "e1c0e886146bf23722f407bfdaddc320a01b521fd92932a32405819c1ae7ea90",
    ),
    Pin(
        "mlflow-drift-plugin",
        "0.1.0",
        "sdist",
        "3f703b5c4401c99b8ef79ab7cf1eca6d3b4b92843bec833cf30a1ca5a193b11b",
    ),
    Pin(
        "mlflow-emissions-sdk",
        "0.16.4",
        "sdist",
        "3551b9a5081f97690968ae186a67b3b995f49c67ad1661aa9d28f726493cf2d5",
    ),
    Pin(
        "mlflow-export-import",
        "1.2.0",
        "wheel",
        "af5456615fbf77361ecd42409e9734eb3891d6cec22231f6bc453a72f6ab1157",
    ),
    Pin(
        "mlflow-extend",
        "0.1.6",
        "sdist",
        "1a499365bdcd2e6fa7fcb4c1c6a077afd9196157154b7bba684c1b9ae8beeaa0",
    ),
    Pin(
        "mlflow-extensions",
        "0.17.1",
        "sdist",
        "6ce3136e57cfc17fb6f92ebe3cd137a449a84305b0e2de6192ff93ea02fb6558",
    ),
    Pin(
        "mlflow-for-ml-dev",
        "0.1.4",
        "sdist",
        "c6a942883463202a431500f0d5aef5685265ba5a1ac71017781437a825c58aaf",
    ),
    Pin(
        "mlflow-langsmith",
        "0.1.2",
        "sdist",
        "e655ab6729fa7d931cf4ddfb4b1b7c4edc3e572f7f1b0cce221ffdd2a4b34107",
    ),
    Pin(
        "mlflow-logger-ext",
        "0.2.2",
        "sdist",
        "a6aca43cf3229c41040a41181a7ca2c65750572dbeec2b8d7be7bcf9b499f73c",
    ),
    Pin(
        "mlflow-mcp",
        "0.4.1",
        "sdist",
        "8a1656ae2b36d7d5760f60ab6c1fdf20e2d662d15151e5f57ba0c1ec3aa5c515",
    ),
    Pin(
        "mlflow-migration",
        "1.2.2",
        "wheel",
        "76ab5855ea40a0ee0a2d7ec96b1fe1ae6ebb6f8f0fa9b060d6af864ba2462545",
    ),
    Pin(
        "mlflow-polylog",
        "0.1.0",
        "sdist",
        "0011d19b2d960b0761a0c194c0ea8874378443448f9314f5eed761553b5ee36c",
    ),
    Pin(
        "mlflow-pytorch-exp",
        "0.0.1",
        "sdist",
        "b7ed130f17a774324275600867b084551a33c267e36b2a0c0d82b027fce2659e",
    ),
    Pin(
        "mlflow-rest-client",
        "2.0.0",
        "wheel",
        "bb4d628780d834c7ac05c5ae6408944db288476110441a2af8eb08c1f20b3427",
    ),
    Pin(
        "mlflow-shap",
        "0.1.1",
        "sdist",
        "ab841c6850732cbc9dcb3e8a2f321bc693d4d41cc0de1a79312807667a1a103d",
    ),
    Pin(
        "mlflow-sysmetrics",
        "0.1.3",
        "sdist",
        "ea12a7410f38319b6ab0c9c83a0f6bf155d61074209e639aa20ef5ce8822fb06",
    ),
    Pin(
        "mlflow-toolkit",
        "0.3.0",
        "sdist",
        "35f1d6485552ab3e10cdce9c1229c93cf123b1511150d738a6278fcca5fb984c",
    ),
    Pin(
        "mlflow-vizmod",
        "1.1.3",
        "sdist",
        "310e91b38091079e94cc71a6cd370f52ad9979f8e718ee5470f0001a3bc65e7c",
    ),
    Pin(
        "mlforecast",
        "1.1.0",
        "sdist",
        "5f0baf178a4017785475db86d56d628a48cf267d5b8ea6ebef798d9ddf396bd8",
    ),
    Pin(
        "mlops-wrapper",
        "0.3.1",
        "sdist",
        "1f82019e3f6d7b2116c9f047085b1ca3672df9c70b14464ef96f0f6c4b8c71f6",
    ),
    Pin(
        "mlpype-mlflow",
        "0.6.13",
        "sdist",
        "992a21dbbf9676bdfa3e24d5227b1ac25e1180a27a3acd4c0725813e4eba7c95",
    ),
    Pin(
        "mlserver-mlflow",
        "1.7.1",
        "sdist",
        "161c40f9fa8a9f5eef40feca0397d2fef93c7b31c94b18540b0d9e2cd0739bb6",
    ),
    Pin(
        "mmengine",
        "0.10.7",
        "wheel",
        "262ac976a925562f78cd5fd14dd1bc9b680ed0aa81f0d85b723ef782f99c54ee",
    ),
    Pin(
        "mosaicml",
        "0.32.1",
        "sdist",
        "417c8aa574e22d39368a434eec0800268b275cb1cc2c8af8bc187475da4953d3",
    ),
    Pin(
        "nemo-toolkit",
        "3.0.0",
        "sdist",
        "d4cf6d3fc3c3bf28b29efbdeb3d2a32ea2564a642269effd56d9b7a6fe087d91",
    ),
    Pin(
        "neptune-mlflow",
        "1.1.1",
        "sdist",
        "ab470a016a767ea861aea4b67f408e9f7ab61023755df18bbbaa89642f9957de",
    ),
    Pin(
        "oci-mlflow",
        "1.0.3",
        "sdist",
        "38234ea22a18e58c100d9a4443b6f76fec9655a5577e3d9537f0d058e8efce9b",
    ),
    Pin(
        "optuna-integration",
        "5.0.0",
        "sdist",
        "d32d099a37c3d4c8376d10676e67f789429b4489ada70eacdeefa4350499a89e",
    ),
    Pin(
        "pipelinex",
        "0.8.0",
        "wheel",
        "286fc94d873f077015b5a390d76faafb4f0fed336d38ce00694030c4f24c2965",
    ),
    Pin(
        "poutyne",
        "1.19.0",
        "sdist",
        "6046a236a5b181ec89979606fb94abe3d420a55109c8b9b678868efbc43e1b37",
    ),
    Pin(
        "pycaret",
        "3.3.2",
        "wheel",
        "61066b85b3a51944d61110ca3575d2f5d29f403aecc073a281765adeda3f5dcb",
    ),
    Pin(
        "pytorch-ignite",
        "0.5.5",
        "sdist",
        "2c14de75c939a3cc06d2e7de00b1e0a261917ef9bd874dac2e69d789dfa9cc64",
    ),
    Pin(
        "rag-sentinel",
        "0.1.12",
        "sdist",
        "2831209d7a86eda59f429be56eebbc350510b1118cca7181606d293c7db5d7c3",
    ),
    Pin(
        "ray", "2.60.0", "wheel", "e227f6b2af8ab4626dd9a35a5860b33864325ea137383d57f854d4637ee3fea2"
    ),
    Pin(
        "sagemaker-mlflow",
        "0.5.0",
        "sdist",
        "6786b9aa738bf0ec551dc99bd44069ac39ad202fa234f99b2fc914556f1af2f2",
    ),
    Pin(
        "setfit",
        "1.2.0",
        "sdist",
        "ed87e37cb7a35b04dac398c55e2dc9642a4b098d64cdf4b91a91d55dbae1de43",
    ),
    Pin(
        "skorch",
        "1.4.0",
        "sdist",
        "f7a5d3c13a3aecf0a0fe689ff25188be1145a95268f8fe81f01aaa9fbd7cead1",
    ),
    Pin(
        "sktime",
        "1.2.0",
        "sdist",
        "641425178b3215a0a8dbcf4e6948a8b589e46def39c91989f71d9fa297bc3709",
    ),
    Pin(
        "tango-mlflow",
        "2.0.0",
        "sdist",
        "103c5114cead57dcb39c90b0b97eeb81d998ee128a1503b71cc03ba6f7b2fe39",
    ),
    Pin(
        "torchtune",
        "0.6.1",
        "wheel",
        "bcbc4ee9774b5c5829a5ff13df851e0b0e32416c018af8db53faa3472ac256e7",
    ),
    Pin(
        "trieye",
        "0.1.5",
        "sdist",
        "0e90624a2575ac37b4bcc433a0e069003146f937ea202874afda963bfee5280d",
    ),
    Pin(
        "trl", "1.16.0", "sdist", "999bd4a85b08870b7bfa387e1efa5177d2a4b88fe82b2526a057ac5d3cc600cd"
    ),
    Pin(
        "umlaut",
        "0.3.4",
        "sdist",
        "b918e50932f398b03c8b64d0d631f4eb6e3ef7190b837c5b2b6b1cf4a0903ddf",
    ),
    Pin(
        "wandb-to-mlflow",
        "0.1.0",
        "sdist",
        "cb95689c01340cbb98b3d1703f676bbd866cf76636a9de1386a06b11af3a1119",
    ),
    Pin(
        "whylogs",
        "1.6.4",
        "sdist",
        "2b00e32a1fefcf9016a7ca008e50aa18b4cb2e110f588785084ffe959868f3e1",
    ),
    Pin(
        "zendag",
        "0.1.5",
        "sdist",
        "288e42dcc55e926c791b2419c9dc3e7a48fbbd126ec7d8964da4772364ba2a6b",
    ),
)

# What each distribution is, for the README (every pin appears once).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "integrations and plugins (orchestrators, clouds, stores, frameworks)": (
        "airflow-provider-mlflow",
        "azure-ai-ml",
        "azureml-mlflow",
        "dagster-mlflow",
        "dbnd-mlflow",
        "flytekitplugins-mlflow",
        "flyteplugins-mlflow",
        "fromconfig-mlflow",
        "getml-mlflow",
        "gluepy-mlflow",
        "google-cloud-mlflow",
        "hydra-optuna-mlflow-sweeper",
        "hydraflow",
        "hydronaut",
        "inspect-mlflow",
        "langchain-community",
        "mlflow-autogluon",
        "mlflow-drift-plugin",
        "mlflow-mcp",
        "mlflow-shap",
        "mlflow-sysmetrics",
        "mlflow-vizmod",
        "mlpype-mlflow",
        "mlserver-mlflow",
        "oci-mlflow",
        "pipelinex",
        "sagemaker-mlflow",
        "tango-mlflow",
        "zendag",
        "bentoml",
        "whylogs",
        "mlforecast",
        "sktime",
        "darts",
        "setfit",
        "trl",
        "evidently",
        "giskard",
        "rag-sentinel",
    ),
    "trainer libraries with MLflow callbacks or loggers": (
        "accelerate",
        "autogluon.tabular",
        "autogluon.timeseries",
        "bertuner",
        "flaml",
        "keynet-train",
        "lit-mlflow",
        "ludwig",
        "mmengine",
        "mosaicml",
        "llm-foundry",
        "nemo-toolkit",
        "optuna-integration",
        "poutyne",
        "pycaret",
        "pytorch-ignite",
        "ray",
        "skorch",
        "torchtune",
        "iapytoo",
        "deep-learning-mlflow",
        "hpoflow",
    ),
    "trackers and wrappers over MLflow (often with other backends)": (
        "ahsi",
        "aim",
        "atlogger",
        "auto-mlflow",
        "ct-mlflow-lib",
        "dgtw-mlflow-utils",
        "laco-logging",
        "matrainer",
        "mlf-core",
        "mlflow-emissions-sdk",
        "mlflow-extend",
        "mlflow-extensions",
        "mlflow-logger-ext",
        "mlflow-polylog",
        "mlflow-toolkit",
        "mlops-wrapper",
        "trieye",
        "umlaut",
    ),
    "export, import, migration and converters": (
        "aim-mlflow",
        "comet-for-mlflow",
        "mlflow-export-import",
        "mlflow-langsmith",
        "mlflow-migration",
        "mlflow-rest-client",
        "neptune-mlflow",
        "wandb-to-mlflow",
    ),
    "tutorials and templates": ("mlflow-for-ml-dev", "mlflow-pytorch-exp"),
}

# Tried and left out: no `.py` or `.ipynb` file of theirs mentions mlflow (checked on these
# versions), or no archive of theirs could be had with this pip.
NOTHING_MENTIONS_MLFLOW = [
    "autogluon.core==1.6.3",
    "autogluon.multimodal==1.6.3",
    "clearml==2.1.12",
    "deepchecks==0.19.1",
    "dvclive==3.49.1",
    "fastai==2.8.12",
    "flair==0.15.1",
    "flytekit==1.16.31",
    "horovod==0.28.1",
    "hyperopt==0.3.0",
    "kedro-datasets==9.6.0",
    "keras-tuner==1.4.8",
    "lightautoml==0.4.2",
    "metaflow==2.19.39",
    "mljar-supervised==1.3.2",
    "mmdet==3.3.0",
    "mmpretrain==1.2.0",
    "neuralforecast==3.3.0",
    "prefect==3.9.1",
    "pytorch-tabular==1.2.0",
    "pytorch-widedeep==1.7.0",
    "sagemaker==3.27.0",
    "sentence-transformers==6.2.0",
    "speechbrain==1.1.2",
    "synapseml==1.1.3",
    "ydata-profiling==4.18.4",
]
NEWER_PYTHON = ("hydraflow", "laco-logging", "ludwig", "matrainer", "mlflow-migration")
UNAVAILABLE = {
    "catalyst": "its metadata has an invalid requirement that pip >= 24.1 rejects",
    "mlflowhelper": "no archive this pip can use",
}


def default_dir() -> Path:
    shared = Path("/work/corpus")
    if shared.is_dir():
        return shared / "pypi"
    return Path(__file__).resolve().parent / ".corpus" / "pypi"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def archive_of(pin: Pin, archives: Path) -> Path:
    """The pinned archive in `archives`, downloaded unless a file with its sha256 is there."""
    for path in archives.glob("*"):
        if path.is_file() and _names_pin(path.name, pin) and sha256(path) == pin.sha256:
            return path
    with tempfile.TemporaryDirectory(dir=archives) as tmp:
        binary = ["--no-binary", ":all:"] if pin.kind == "sdist" else ["--only-binary", ":all:"]
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        command += [
            "--ignore-requires-python",
            *binary,
            "--dest",
            tmp,
            f"{pin.name}=={pin.version}",
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        files = list(Path(tmp).iterdir())
        if result.returncode != 0 or len(files) != 1:
            raise RuntimeError(f"{pin.dist}: pip download failed:\n{result.stderr[-2000:]}")
        got = sha256(files[0])
        if got != pin.sha256:
            raise RuntimeError(f"{pin.dist}: sha256 {got} is not the pinned {pin.sha256}")
        target = archives / files[0].name
        files[0].replace(target)
        return target


def _names_pin(filename: str, pin: Pin) -> bool:
    def norm(text: str) -> str:
        return text.lower().replace("-", "_").replace(".", "_")

    return norm(filename).startswith(norm(pin.dist))


def members(archive: Path) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of every `.py` and `.ipynb` file in a wheel, zip or tar archive."""
    wanted = (".py", ".ipynb")
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                if not info.is_dir() and info.filename.endswith(wanted):
                    yield info.filename, zipped.read(info)
        return
    with tarfile.open(archive) as tarred:
        for member in tarred.getmembers():
            if member.isfile() and member.name.endswith(wanted):
                stream = tarred.extractfile(member)
                if stream is not None:
                    yield member.name, stream.read()


def relative(name: str, kind: Kind) -> PurePosixPath | None:
    path = PurePosixPath(name)
    parts = path.parts[1:] if kind == "sdist" else path.parts
    if not parts or path.is_absolute() or ".." in parts:
        return None
    return PurePosixPath(*parts)


def extract(pin: Pin, archive: Path, root: Path) -> dict[str, int]:
    """Write the files of `archive` that mention mlflow under root/<dist>; return the counts."""
    target = root / pin.dist
    if target.exists():
        for path in sorted(target.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    counts = {"py": 0, "ipynb": 0, "lines": 0}
    for name, data in members(archive):
        rel = relative(name, pin.kind)
        if rel is None or b"mlflow" not in data.lower():
            continue
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        counts["py" if rel.suffix == ".py" else "ipynb"] += 1
        counts["lines"] += data.count(b"\n")
    return counts


def build_one(pin: Pin, root: Path) -> dict[str, int]:
    stamp = root / ".stamps" / f"{pin.dist}.json"
    if stamp.is_file():
        counts: dict[str, int] = json.loads(stamp.read_text())["counts"]
        return counts
    archive = archive_of(pin, root / ".archives")
    counts = extract(pin, archive, root)
    record = {"pin": f"{pin.name}=={pin.version}", "kind": pin.kind, "archive": archive.name}
    stamp.write_text(json.dumps({**record, "sha256": pin.sha256, "counts": counts}, indent=1))
    return counts


def readme(root: Path, results: dict[Pin, dict[str, int]]) -> str:
    total = {key: sum(c[key] for c in results.values()) for key in ("py", "ipynb", "lines")}
    lines = [
        "# Real code that uses MLflow, from PyPI",
        "",
        "Built by `benchmarks/real_code.py` in the mlflow-lint repository (re-run it to rebuild;",
        "it is idempotent). Each folder `<dist>-<version>/` holds the `.py` and `.ipynb` files of",
        "that pinned archive whose bytes mention mlflow (any case), at their path inside the",
        "archive (an sdist's top folder dropped). Archives are in `.archives/` (sha256-pinned),",
        "per-distribution stamps in `.stamps/`. Not in here: the benchmark corpus's own seven",
        "distributions (mlflow, transformers, lightning, ultralytics, optuna, kedro-mlflow, zenml).",
        "",
        f"**{len(results)} distributions, {total['py']} Python files, {total['ipynb']} notebooks, "
        f"{total['lines']:,} lines.**",
        "",
        "| distribution | version | archive | .py | .ipynb | lines |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for pin, counts in sorted(results.items(), key=lambda item: item[0].name.lower()):
        row = f"| {pin.name} | {pin.version} | {pin.kind} | {counts['py']} | {counts['ipynb']} |"
        lines.append(f"{row} {counts['lines']:,} |")
    notebooks = [f"{p.name} ({c['ipynb']})" for p, c in results.items() if c["ipynb"]]
    lines += ["", "Notebooks: " + ", ".join(sorted(notebooks)) + "."]
    lines += ["", "Need a newer Python than 3.11 (downloaded with `--ignore-requires-python`; some"]
    lines += ["files use 3.12 syntax): " + ", ".join(NEWER_PYTHON) + "."]
    lines += ["", "By kind:", ""]
    for kind, names in CATEGORIES.items():
        lines.append(f"- {kind} ({len(names)}): " + ", ".join(sorted(names)) + ".")
    lines += [
        "",
        "Tried and left out because no `.py`/`.ipynb` file of theirs mentions mlflow: "
        + ", ".join(f"`{spec}`" for spec in NOTHING_MENTIONS_MLFLOW)
        + ".",
        "",
        "Not available here: "
        + "; ".join(f"`{name}` ({why})" for name, why in UNAVAILABLE.items())
        + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", type=Path, default=None, help="corpus folder")
    parser.add_argument("--jobs", type=int, default=4, help="parallel downloads (default 4)")
    parser.add_argument("--list", action="store_true", help="print the pins and exit")
    args = parser.parse_args(argv)
    if args.list:
        for pin in PINS:
            print(f"{pin.name}=={pin.version}\t{pin.kind}")
        return 0
    categorized = sorted(name for names in CATEGORIES.values() for name in names)
    if categorized != sorted(pin.name for pin in PINS):  # keep the README's grouping complete
        raise SystemExit("CATEGORIES must name every pin exactly once")
    root: Path = (args.dir or default_dir()).resolve()
    for sub in (".archives", ".stamps"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    results: dict[Pin, dict[str, int]] = {}

    def run(pin: Pin) -> None:
        try:
            results[pin] = build_one(pin, root)
        except (RuntimeError, OSError, tarfile.TarError, zipfile.BadZipFile) as error:
            failures.append(f"{pin.dist}: {error}")

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(run, PINS))
    (root / "README.md").write_text(readme(root, results))
    files = sum(c["py"] + c["ipynb"] for c in results.values())
    print(f"{len(results)} of {len(PINS)} distributions, {files} files in {root}")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
