"""Static files as served in production: compressed, with hashed names."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    # The page's ES modules import one another by relative path; those imports get the hashed names
    # too, so a new release never mixes old and new modules from a browser's cache.
    support_js_module_import_aggregation = True
