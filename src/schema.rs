//! Diesel's description of the tables in `migrations/`.

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        is_active -> Bool,
        tokens_valid_after -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> BigInt,
    }
}

diesel::table! {
    stores (id) {
        id -> BigInt,
        name -> Text,
        owner_id -> Nullable<BigInt>,
        version -> Integer,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    items (id) {
        id -> BigInt,
        store_id -> BigInt,
        name -> Text,
        description -> Nullable<Text>,
        price -> Numeric,
        version -> Integer,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        name_folded -> Text,
        pictures -> Jsonb,
        tag_ids -> Array<BigInt>,
    }
}

diesel::table! {
    tags (id) {
        id -> BigInt,
        store_id -> BigInt,
        name -> Text,
        version -> Integer,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    item_tags (item_id, tag_id) {
        item_id -> BigInt,
        tag_id -> BigInt,
        store_id -> BigInt,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        refresh_family -> Text,
        refresh_generation -> Integer,
        user_agent -> Nullable<Text>,
        csrf_token -> Nullable<Text>,
        idle_minutes -> Nullable<Integer>,
    }
}

diesel::table! {
    form_drafts (session_id) {
        session_id -> BigInt,
        page -> Text,
        body -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        token_hash -> Bytea,
        prefix -> Text,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamptz,
        actor_id -> Nullable<BigInt>,
        via -> Text,
        action -> Text,
        entity -> Text,
        entity_id -> BigInt,
        changes -> Jsonb,
    }
}

diesel::table! {
    login_failures (id) {
        id -> BigInt,
        account -> Text,
        client -> Text,
        at -> Timestamptz,
        device -> Nullable<Text>,
    }
}

diesel::table! {
    events (draft_id) {
        id -> Nullable<BigInt>,
        draft_id -> BigInt,
        at -> Timestamptz,
        kind -> Text,
        entity_id -> BigInt,
        store_id -> BigInt,
        object -> Nullable<Jsonb>,
        actor_id -> Nullable<BigInt>,
        lsn -> Nullable<BigInt>,
    }
}

diesel::table! {
    picture_blobs (digest) {
        digest -> Text,
        content_type -> Text,
        bytes -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    item_pictures (id) {
        id -> BigInt,
        item_id -> BigInt,
        position -> Integer,
        alt -> Nullable<Text>,
        width -> Integer,
        height -> Integer,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    item_picture_sizes (picture_id, width) {
        picture_id -> BigInt,
        width -> Integer,
        height -> Integer,
        digest -> Text,
    }
}

diesel::table! {
    imports (id) {
        id -> BigInt,
        user_id -> BigInt,
        file_name -> Text,
        source -> Nullable<Bytea>,
        delimiter -> Text,
        header -> Jsonb,
        mapping -> Jsonb,
        match_by -> Text,
        create_tags -> Bool,
        state -> Text,
        rows_total -> Integer,
        rows_done -> Integer,
        counts -> Jsonb,
        message -> Nullable<Text>,
        heartbeat -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    import_rows (import_id, line) {
        import_id -> BigInt,
        line -> Integer,
        outcome -> Text,
        item_id -> Nullable<BigInt>,
        item_version -> Nullable<Integer>,
        details -> Jsonb,
    }
}

diesel::table! {
    second_factors (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        name -> Text,
        secret -> Nullable<Bytea>,
        last_step -> Nullable<BigInt>,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        passkey -> Nullable<Jsonb>,
        credential_id -> Nullable<Bytea>,
    }
}

diesel::table! {
    passkey_ceremonies (id) {
        id -> BigInt,
        user_id -> BigInt,
        purpose -> Text,
        state -> Jsonb,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    recovery_codes (user_id, code_hash) {
        user_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> BigInt,
        key -> Text,
        fingerprint -> Text,
        claimed_at -> Timestamptz,
        status -> Nullable<SmallInt>,
        headers -> Nullable<Jsonb>,
        body -> Nullable<Bytea>,
    }
}

diesel::table! {
    api_usage (user_id, kind, window_start) {
        user_id -> BigInt,
        kind -> Text,
        window_start -> Timestamptz,
        used -> BigInt,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> BigInt,
        owner_id -> BigInt,
        url -> Text,
        description -> Text,
        kinds -> Array<Text>,
        store_id -> Nullable<BigInt>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamptz>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        failing_since -> Nullable<Timestamptz>,
        leased_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        endpoint_id -> BigInt,
        event_id -> BigInt,
        body -> Nullable<Text>,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamptz,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        at -> Timestamptz,
        duration_ms -> Integer,
        status -> Nullable<Integer>,
        error -> Nullable<Text>,
        response -> Text,
    }
}

diesel::joinable!(stores -> users (owner_id));
diesel::joinable!(items -> stores (store_id));
diesel::joinable!(tags -> stores (store_id));
diesel::joinable!(item_tags -> items (item_id));
diesel::joinable!(item_tags -> tags (tag_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(form_drafts -> sessions (session_id));
diesel::joinable!(item_pictures -> items (item_id));
diesel::joinable!(item_picture_sizes -> item_pictures (picture_id));
diesel::joinable!(item_picture_sizes -> picture_blobs (digest));
diesel::joinable!(imports -> users (user_id));
diesel::joinable!(second_factors -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(passkey_ceremonies -> users (user_id));
diesel::joinable!(idempotency_keys -> users (user_id));
diesel::joinable!(api_usage -> users (user_id));
diesel::joinable!(webhook_endpoints -> users (owner_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(import_rows -> imports (import_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    stores,
    items,
    tags,
    item_tags,
    sessions,
    form_drafts,
    api_tokens,
    audit_log,
    login_failures,
    events,
    picture_blobs,
    item_pictures,
    item_picture_sizes,
    imports,
    import_rows,
    second_factors,
    recovery_codes,
    passkey_ceremonies,
    idempotency_keys,
    api_usage,
    webhook_endpoints,
    webhook_deliveries,
    webhook_attempts,
);
