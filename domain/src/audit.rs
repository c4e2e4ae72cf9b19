//! The audit log's vocabulary: what was done ([`AuditAction`]) and by whom ([`Actor`]). Entries
//! are written in the same transaction as the change they record and shown to an organization's
//! admins (`GET /api/v1/audit-log`).

use serde::Serialize;
use uuid::Uuid;

use crate::names::stored_names;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuditAction {
    #[serde(rename = "api_key.created")]
    ApiKeyCreated,
    #[serde(rename = "api_key.revoked")]
    ApiKeyRevoked,
    #[serde(rename = "api_key.rotated")]
    ApiKeyRotated,
    #[serde(rename = "signing_secret.rotated")]
    SigningSecretRotated,
    /// The plan changed (a billing event, or an operator).
    #[serde(rename = "tier.changed")]
    TierChanged,
    #[serde(rename = "member.invited")]
    MemberInvited,
    /// An invitation was accepted.
    #[serde(rename = "member.joined")]
    MemberJoined,
    /// Removed by an admin, or left.
    #[serde(rename = "member.removed")]
    MemberRemoved,
    #[serde(rename = "member.role_changed")]
    MemberRoleChanged,
    #[serde(rename = "invite.revoked")]
    InviteRevoked,
    #[serde(rename = "organization.created")]
    OrganizationCreated,
    #[serde(rename = "organization.renamed")]
    OrganizationRenamed,
    /// A member signed in from a browser they had not used before.
    #[serde(rename = "login.new_client")]
    LoginNewClient,
    /// Everything the organization owns was exported (`GET /api/v1/export`).
    #[serde(rename = "org.exported")]
    OrgExported,
    /// An owner asked for the organization to be deleted; it is purged after the grace period.
    #[serde(rename = "organization.deletion_requested")]
    OrganizationDeletionRequested,
    /// An owner cancelled the deletion within the grace period.
    #[serde(rename = "organization.restored")]
    OrganizationRestored,
    /// Every row of the organization was erased (recorded with no organization).
    #[serde(rename = "organization.purged")]
    OrganizationPurged,
    /// A member deleted their account (recorded in each organization they belonged to).
    #[serde(rename = "user.deleted")]
    UserDeleted,
}

stored_names!(AuditAction, "audit action" {
    ApiKeyCreated => "api_key.created",
    ApiKeyRevoked => "api_key.revoked",
    ApiKeyRotated => "api_key.rotated",
    SigningSecretRotated => "signing_secret.rotated",
    TierChanged => "tier.changed",
    MemberInvited => "member.invited",
    MemberJoined => "member.joined",
    MemberRemoved => "member.removed",
    MemberRoleChanged => "member.role_changed",
    InviteRevoked => "invite.revoked",
    OrganizationCreated => "organization.created",
    OrganizationRenamed => "organization.renamed",
    LoginNewClient => "login.new_client",
    OrgExported => "org.exported",
    OrganizationDeletionRequested => "organization.deletion_requested",
    OrganizationRestored => "organization.restored",
    OrganizationPurged => "organization.purged",
    UserDeleted => "user.deleted",
});

/// Who did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A person signed in to the dashboard.
    User(Uuid),
    /// A request authenticated with this API key.
    ApiKey(Uuid),
    /// Prikke itself (an operator command, a billing event).
    System,
}

impl Actor {
    pub const fn user_id(self) -> Option<Uuid> {
        match self {
            Actor::User(id) => Some(id),
            _ => None,
        }
    }

    pub const fn api_key_id(self) -> Option<Uuid> {
        match self {
            Actor::ApiKey(id) => Some(id),
            _ => None,
        }
    }
}
