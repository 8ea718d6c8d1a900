"""What teams tells the apps above it (they connect; this app imports none of them)."""

from django.dispatch import Signal

# A member is being removed by someone else, inside the removal's transaction
# (their membership still exists): apps that own their work hand it over.
# Arguments: membership (the departing one), heir (Membership), actor (a user).
member_removed = Signal()
