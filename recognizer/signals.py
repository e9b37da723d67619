"""A prediction's drawing goes with its row: deleting one (in the admin or anywhere) removes both."""

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import Prediction


@receiver(post_delete, sender=Prediction)
def delete_drawing_file(sender, instance: Prediction, **kwargs):
    # Only once the deletion is committed: a rolled-back delete keeps its file. Robust: a file that
    # cannot be removed (left for `delete_orphan_drawings`) is no reason to fail a committed delete.
    name, storage = instance.image.name, instance.image.storage
    transaction.on_commit(lambda: storage.delete(name), robust=True)
