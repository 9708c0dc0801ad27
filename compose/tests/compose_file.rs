//! `compose/docker-compose.yml`, checked without Docker.
//!
//! Nothing here starts a container. Instead each project service's compose environment is
//! loaded into that service's real `Config`, exactly as the binary loads it at start, and
//! what comes out is compared with the rest of the compose file: the hosts are compose
//! services, the ports are the ones those containers serve on, and the listen port is the
//! one published and health-checked. `docker_image.rs` checks how the images are built.

#[allow(dead_code, reason = "each test binary uses part of the support module")]
mod support;

use std::net::SocketAddr;

use serde_json::Value;
use support::services::{
    INFRASTRUCTURE, NOT_SETTINGS, PROJECT_SERVICES, REGISTRY_RULE_JOB, infrastructure_read_by,
};
use support::{ComposeFile, Url, check, endpoints};

/// The `listen` address in section `section` of `config`.
fn listen_address(config: &Value, section: &str) -> SocketAddr {
    config[section]["listen"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{section}.listen is not an address in {config}"))
}

#[test]
fn the_stack_has_every_service_our_code_needs() {
    let compose = ComposeFile::load();
    let needed = INFRASTRUCTURE
        .iter()
        .map(|(_, service)| *service)
        .chain(PROJECT_SERVICES.iter().map(|s| s.name))
        .chain([REGISTRY_RULE_JOB]);
    let missing: Vec<&str> = needed
        .filter(|name| !compose.services.contains_key(*name))
        .collect();
    assert!(missing.is_empty(), "the compose file lacks {missing:?}");
}

#[test]
fn every_long_running_service_has_a_healthcheck() {
    let compose = ComposeFile::load();
    let unchecked: Vec<&str> = compose
        .services
        .values()
        .filter(|s| !s.is_one_shot() && s.healthcheck().is_none())
        .map(|s| s.name.as_str())
        .collect();
    assert!(unchecked.is_empty(), "no healthcheck on {unchecked:?}");
}

#[test]
fn services_start_only_once_what_they_depend_on_is_healthy_or_done() {
    let compose = ComposeFile::load();
    let mut problems = Vec::new();
    for service in compose.services.values() {
        for (target, dependency) in &service.depends_on {
            let expected = if compose.service(target).is_one_shot() {
                "service_completed_successfully"
            } else {
                "service_healthy"
            };
            if dependency.condition.as_deref() != Some(expected) {
                problems.push(format!(
                    "{} waits for {target} with condition {:?}, expected {expected}",
                    service.name, dependency.condition
                ));
            }
        }
    }
    check(problems);
}

#[test]
fn each_project_service_waits_for_the_infrastructure_its_config_reads() {
    let compose = ComposeFile::load();
    let mut problems = Vec::new();
    for project in &PROJECT_SERVICES {
        let config = project.config(&compose);
        let depends_on = &compose.service(project.name).depends_on;
        for (section, infrastructure) in infrastructure_read_by(&config) {
            if !depends_on.contains_key(infrastructure) {
                problems.push(format!(
                    "{} reads [{section}] but does not depend on {infrastructure}",
                    project.name
                ));
            }
            // Schemas registered before the rule is set would escape the check.
            if section == "schema_registry" && !depends_on.contains_key(REGISTRY_RULE_JOB) {
                problems.push(format!(
                    "{} registers schemas but does not wait for {REGISTRY_RULE_JOB}",
                    project.name
                ));
            }
        }
    }
    check(problems);
}

#[test]
fn each_project_service_environment_loads_into_its_real_config() {
    let compose = ComposeFile::load();
    let mut problems = Vec::new();
    for project in &PROJECT_SERVICES {
        let environment = compose.service(project.name).environment();
        if let Err(error) = (project.load_from_env)(&environment) {
            problems.push(format!("{}: {error}", project.name));
        }
    }
    check(problems);
}

#[test]
fn every_leaky_variable_names_a_setting_its_service_reads() {
    let compose = ComposeFile::load();
    let mut problems = Vec::new();
    for project in &PROJECT_SERVICES {
        let config = project.config(&compose);
        for (key, _) in compose.service(project.name).environment() {
            let Some(setting) = key.strip_prefix(settings::ENV_PREFIX) else {
                continue;
            };
            if NOT_SETTINGS.contains(&key.as_str()) {
                continue;
            }
            if key == settings::CONFIG_FILE_ENV {
                problems.push(format!(
                    "{}: sets {key}, but the image has no configuration file; \
                     set LEAKY_<SECTION>__<KEY> variables instead",
                    project.name
                ));
                continue;
            }
            // Unknown top-level sections are ignored when loading, so look for the key.
            let pointer = format!("/{}", setting.to_ascii_lowercase().replace("__", "/"));
            if config.pointer(&pointer).is_none() {
                problems.push(format!(
                    "{}: {key} sets {}, which its Config does not read (misspelt, or \
                     meant for another service?)",
                    project.name,
                    pointer[1..].replace('/', ".")
                ));
            }
        }
    }
    check(problems);
}

#[test]
fn each_project_service_reaches_infrastructure_by_service_name_and_container_port() {
    let compose = ComposeFile::load();
    let mut problems = Vec::new();
    for project in &PROJECT_SERVICES {
        let config = project.config(&compose);
        for (section, infrastructure) in infrastructure_read_by(&config) {
            let served = compose.service(infrastructure).container_ports();
            for endpoint in endpoints(&config, section) {
                if endpoint.host != infrastructure {
                    problems.push(format!(
                        "{}: [{section}] points at {endpoint}, expected host {infrastructure}",
                        project.name
                    ));
                } else if !served.contains(&endpoint.port) {
                    problems.push(format!(
                        "{}: [{section}] points at {endpoint}, but {infrastructure} serves on \
                         {served:?} (its `expose` and container-side `ports`)",
                        project.name
                    ));
                }
            }
        }
    }
    check(problems);
}

#[test]
fn kafka_advertises_the_address_the_services_are_given() {
    let compose = ComposeFile::load();
    let kafka = compose.service("kafka");
    let advertised = kafka.env("KAFKA_ADVERTISED_LISTENERS");
    let listeners = kafka.env("KAFKA_LISTENERS");
    let mut problems = Vec::new();
    for project in &PROJECT_SERVICES {
        let config = project.config(&compose);
        if config.get("kafka").is_none() {
            continue;
        }
        for broker in endpoints(&config, "kafka") {
            // A client bootstraps from the broker list, then connects where it is told.
            let listener = advertised
                .split(',')
                .find_map(|l| l.trim().strip_suffix(&format!("://{broker}")));
            let Some(name) = listener else {
                problems.push(format!(
                    "{}: broker {broker} is not among KAFKA_ADVERTISED_LISTENERS {advertised}",
                    project.name
                ));
                continue;
            };
            let bound = listeners.split(',').map(str::trim).any(|l| {
                l.starts_with(&format!("{name}://")) && l.ends_with(&format!(":{}", broker.port))
            });
            if !bound {
                problems.push(format!(
                    "listener {name} is advertised as {broker}, but KAFKA_LISTENERS {listeners} \
                     does not bind it on port {}",
                    broker.port
                ));
            }
        }
    }
    check(problems);
}

#[test]
fn kafka_is_one_node_whose_internal_topics_allow_transactions() {
    let compose = ComposeFile::load();
    let kafka = compose.service("kafka");
    assert_eq!(kafka.env("KAFKA_PROCESS_ROLES"), "broker,controller");
    let single_replica = [
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ];
    let problems = single_replica
        .iter()
        .filter(|key| kafka.env(key) != "1")
        .map(|key| {
            format!(
                "kafka: {key} is {}, but one broker holds one replica",
                kafka.env(key)
            )
        })
        .collect();
    check(problems);
}

#[test]
fn each_project_service_listens_on_the_port_compose_publishes_and_health_checks() {
    let compose = ComposeFile::load();
    let mut problems = Vec::new();
    for project in &PROJECT_SERVICES {
        let service = compose.service(project.name);
        let listen = listen_address(&project.config(&compose), project.http_section);
        let port = listen.port();
        if !listen.ip().is_unspecified() {
            problems.push(format!(
                "{}: listens on {listen}, unreachable from outside its container",
                project.name
            ));
        }
        // Developers find a service on the host where config/leaky.toml puts it locally.
        let local_port =
            listen_address(&(project.load_from_repo_file)(), project.http_section).port();
        if !service.published_ports().contains(&(local_port, port)) {
            problems.push(format!(
                "{}: listens on {port}; expected ports \"{local_port}:{port}\", found {:?}",
                project.name,
                service.published_ports()
            ));
        }
        let readiness = format!(":{port}/health/ready");
        let healthcheck = service.healthcheck().unwrap_or_default();
        if !healthcheck.iter().any(|word| word.ends_with(&readiness)) {
            problems.push(format!(
                "{}: healthcheck {healthcheck:?} does not ask for {readiness}",
                project.name
            ));
        }
    }
    check(problems);
}

#[test]
fn database_urls_use_the_credentials_the_postgres_service_creates() {
    let compose = ComposeFile::load();
    let postgres = compose.service("postgres");
    let (user, password) = (
        postgres.env("POSTGRES_USER"),
        postgres.env("POSTGRES_PASSWORD"),
    );
    let database = format!("/{}", postgres.env("POSTGRES_DB"));
    let mut problems = Vec::new();
    for project in &PROJECT_SERVICES {
        let config = project.config(&compose);
        let Some(url) = config["postgres"]["url"].as_str() else {
            continue;
        };
        let url = Url::parse(url, "postgres.url");
        if url.user.as_ref() != Some(&user) || url.password.as_ref() != Some(&password) {
            problems.push(format!(
                "{}: postgres.url is not {user}:{password}@…",
                project.name
            ));
        }
        if url.path != database {
            problems.push(format!(
                "{}: postgres.url names database {}, not {database}",
                project.name, url.path
            ));
        }
    }
    check(problems);
}

#[test]
fn the_registry_keeps_schemas_in_the_database_the_init_script_creates() {
    let compose = ComposeFile::load();
    let registry = compose.service("schema-registry");
    assert_eq!(
        registry.env("APICURIO_STORAGE_KIND"),
        "sql",
        "schema ids must survive restarts"
    );
    assert_eq!(registry.env("APICURIO_STORAGE_SQL_KIND"), "postgresql");
    let url = Url::parse(
        &registry.env("APICURIO_DATASOURCE_URL"),
        "APICURIO_DATASOURCE_URL",
    );
    let postgres = compose.service("postgres");
    assert_eq!(url.endpoint.host, "postgres");
    assert!(
        postgres.container_ports().contains(&url.endpoint.port),
        "postgres does not serve {}",
        url.endpoint
    );
    assert_eq!(
        registry.env("APICURIO_DATASOURCE_USERNAME"),
        postgres.env("POSTGRES_USER")
    );
    assert_eq!(
        registry.env("APICURIO_DATASOURCE_PASSWORD"),
        postgres.env("POSTGRES_PASSWORD")
    );
    assert!(
        registry.depends_on.contains_key("postgres"),
        "the registry must wait for postgres"
    );

    let database = url.path.trim_start_matches('/');
    let scripts: Vec<String> = postgres
        .volumes
        .iter()
        .filter_map(|volume| {
            let (source, target) = volume.split_once(':')?;
            target.starts_with("/docker-entrypoint-initdb.d/").then(|| {
                let path = support::compose_dir().join(source);
                std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("cannot read init script {}: {e}", path.display()))
            })
        })
        .collect();
    let creates = format!("create database {database}");
    assert!(
        scripts
            .iter()
            .any(|s| s.to_ascii_lowercase().contains(&creates)),
        "no script mounted in /docker-entrypoint-initdb.d/ of postgres runs `{creates}`"
    );
}

#[test]
fn the_rule_job_sets_global_backward_compatibility_on_the_registry() {
    let compose = ComposeFile::load();
    let registry = compose.service("schema-registry");
    let command = compose.service(REGISTRY_RULE_JOB).command();
    let url = command
        .iter()
        .find(|word| word.starts_with("http"))
        .unwrap_or_else(|| panic!("{REGISTRY_RULE_JOB} calls no URL: {command:?}"));
    let url = Url::parse(url, REGISTRY_RULE_JOB);
    assert_eq!(url.endpoint.host, "schema-registry");
    assert!(
        registry.container_ports().contains(&url.endpoint.port),
        "schema-registry does not serve {}",
        url.endpoint
    );
    assert_eq!(
        url.path, "/apis/ccompat/v7/config",
        "the global rule is the ccompat config"
    );
    assert!(
        command.iter().any(|w| w == "PUT"),
        "{REGISTRY_RULE_JOB} must PUT: {command:?}"
    );
    assert!(
        command
            .iter()
            .any(|w| w.replace(' ', "") == r#"{"compatibility":"BACKWARD"}"#),
        "{REGISTRY_RULE_JOB} must send {{\"compatibility\":\"BACKWARD\"}}: {command:?}"
    );
}

#[test]
fn the_registry_url_is_the_confluent_api_of_the_registry_service() {
    let compose = ComposeFile::load();
    for project in &PROJECT_SERVICES {
        let config = project.config(&compose);
        if let Some(url) = config["schema_registry"]["url"].as_str() {
            assert_eq!(
                Url::parse(url, "schema_registry.url").path,
                "/apis/ccompat/v7",
                "{}",
                project.name
            );
        }
    }
}

#[test]
fn infrastructure_images_are_pinned() {
    let compose = ComposeFile::load();
    let unpinned: Vec<String> = compose
        .services
        .values()
        .filter(|s| s.build.is_none())
        .filter_map(|s| {
            let image = s.image.as_deref().unwrap_or("");
            let tag = image.rsplit_once(':').map(|(_, tag)| tag);
            (tag.is_none() || tag == Some("latest")).then(|| format!("{}: {image:?}", s.name))
        })
        .collect();
    assert!(
        unpinned.is_empty(),
        "images without a version tag: {unpinned:?}"
    );
}
