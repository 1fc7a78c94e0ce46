from rest_framework import serializers

from chat.models import Partner


class NumberField(serializers.FloatField):
    """A JSON number, not a boolean: DRF's FloatField takes `true` as 1.0 (float(True)), so `"latitude": true`
    was answered as latitude 1. IntegerField and DecimalField already refuse booleans."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


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
