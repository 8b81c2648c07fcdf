"""Public home of the spatial label conventions (frames, azimuth/elevation/distance classes, octant words).

The code lives beside the Spatial-AST model (``models/spatial_ast/spatial_labels.py``) because the model's
decoding needs it and checkpoints saved for ``trust_remote_code`` can only carry files of the model's own folder.
"""

from .models.spatial_ast.spatial_labels import *  # noqa: F403
from .models.spatial_ast.spatial_labels import __all__  # noqa: F401
