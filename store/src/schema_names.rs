//! The names the schema's CHECK constraints allow are the domain's, no more and no fewer: the
//! migrations and `domain` spell each stored enum once each, and this test holds them together.

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use domain::account::{LinkPurpose, MailKind, Role};
    use domain::alert::AlertKind;
    use domain::audit::AuditAction;
    use domain::billing::PauseReason;
    use domain::execution::{ExecutionStatus, Source};
    use domain::monitor::{MonitorStatus, PingKind};
    use domain::notification::{ChannelKind, SendStatus};
    use domain::tier::Tier;
    use sqlx::PgPool;

    /// The quoted names in the CHECK constraint of `table` that mentions `column`.
    async fn allowed(pool: &PgPool, table: &str, column: &str) -> BTreeSet<String> {
        let defs: Vec<String> = sqlx::query_scalar(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c'",
        )
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap();
        let def = defs
            .iter()
            .find(|d| [format!("({column} = "), format!("({column})::text = "), format!("({column} <@ ")].iter().any(|p| d.contains(p)))
            .unwrap_or_else(|| panic!("no CHECK on {table}.{column} in {defs:?}"));
        def.split('\'').skip(1).step_by(2).map(str::to_owned).collect()
    }

    fn names<T: std::fmt::Display>(values: &[T]) -> BTreeSet<String> {
        values.iter().map(ToString::to_string).collect()
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn every_stored_enum_allows_exactly_the_domains_names(pool: PgPool) {
        assert_eq!(allowed(&pool, "executions", "status").await, names(ExecutionStatus::ALL));
        assert_eq!(allowed(&pool, "executions", "source").await, names(Source::ALL));
        let final_attempts = [ExecutionStatus::Success, ExecutionStatus::Failed, ExecutionStatus::Timeout];
        assert_eq!(allowed(&pool, "execution_attempts", "status").await, names(&final_attempts));
        assert_eq!(allowed(&pool, "monitors", "status").await, names(MonitorStatus::ALL));
        assert_eq!(allowed(&pool, "pings", "kind").await, names(PingKind::ALL));
        assert_eq!(allowed(&pool, "alert_events", "kind").await, names(AlertKind::ALL));
        assert_eq!(allowed(&pool, "organizations", "tier").await, names(&Tier::ALL));
        assert_eq!(allowed(&pool, "notification_channels", "kind").await, names(ChannelKind::ALL));
        assert_eq!(allowed(&pool, "notification_deliveries", "status").await, names(SendStatus::ALL));
        assert_eq!(allowed(&pool, "jobs", "paused_reason").await, names(PauseReason::ALL));
        assert_eq!(allowed(&pool, "audit_log", "action").await, names(AuditAction::ALL));
        assert_eq!(allowed(&pool, "memberships", "role").await, names(Role::ALL));
        let invitable = [Role::Member, Role::Admin];
        assert_eq!(allowed(&pool, "invites", "role").await, names(&invitable));
        assert_eq!(allowed(&pool, "email_tokens", "purpose").await, names(LinkPurpose::ALL));
        assert_eq!(allowed(&pool, "outgoing_mail", "kind").await, names(MailKind::ALL));
        // the event filter's own CHECK lists every alert kind
        let events = allowed(&pool, "notification_channels", "events").await;
        assert_eq!(events, names(AlertKind::ALL));
    }
}
