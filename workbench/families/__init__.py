"""Physics families of the workbench: env ids, defaults, validation, report and models, by name.

A family ties a physics model of ``analytic`` to its environments in ``envs`` for the search,
the sweeps and the CLI. ``FAMILIES["thz"]`` (nanogap-loop arrays) and ``FAMILIES["acoustic"]``
(plate-backed cavities) and ``FAMILIES["toy"]`` (a closed-form test objective, ``envs.toy``) are
registered on import; :func:`register_family` adds another and
:func:`register_model` adds a model (a surrogate, say) to a family. Importing this package does
not import torch.
"""

from ._acoustic import ACOUSTIC
from ._family import FAMILIES, Family, ModelFactory, register_family, register_model
from ._thz import THZ
from ._toy import TOY

register_family("thz", THZ)
register_family("acoustic", ACOUSTIC)
register_family("toy", TOY)

__all__ = ["FAMILIES", "Family", "ModelFactory", "register_family", "register_model"]
