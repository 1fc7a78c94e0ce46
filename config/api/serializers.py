from rest_framework import serializers

from chat.models import Partner


class IdentitySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["user", "partner"])
    username = serializers.CharField(allow_null=True)
    partner_id = serializers.CharField(allow_null=True)
    is_staff = serializers.BooleanField()


class PartnerSerializer(serializers.ModelSerializer):
    active_key_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Partner
        fields = ["partner_id", "name", "is_active", "created_at", "active_key_count"]
