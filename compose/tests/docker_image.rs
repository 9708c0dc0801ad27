//! `compose/Dockerfile` and the build sections of `compose/docker-compose.yml`, checked
//! without Docker: every project service is built from the one Dockerfile, which builds the
//! whole locked workspace and ships the binary its `SERVICE` build argument names.

#[allow(dead_code, reason = "each test binary uses part of the support module")]
mod support;

use support::dockerfile::{self, Stage};
use support::services::PROJECT_SERVICES;
use support::{ComposeFile, check, repo_root};

#[test]
fn each_project_service_is_built_from_the_dockerfile_for_its_own_binary() {
    let compose = ComposeFile::load();
    let binaries = support::workspace_binaries();
    let mut problems = Vec::new();
    for project in &PROJECT_SERVICES {
        let Some(build) = &compose.service(project.name).build else {
            problems.push(format!("{}: has no build section", project.name));
            continue;
        };
        let context = support::compose_dir().join(&build.context);
        if context.canonicalize().ok() != repo_root().canonicalize().ok() {
            problems.push(format!(
                "{}: build context {:?} is not the repository root",
                project.name, build.context
            ));
        }
        if !context.join(&build.dockerfile).is_file() {
            problems.push(format!(
                "{}: dockerfile {:?} does not exist in the context",
                project.name, build.dockerfile
            ));
        }
        match build.args.get("SERVICE") {
            Some(binary) if binary == project.name && binaries.contains(binary) => {}
            Some(binary) if !binaries.contains(binary) => problems.push(format!(
                "{}: SERVICE={binary} is not a binary of the workspace ({binaries:?})",
                project.name
            )),
            other => problems.push(format!("{}: build arg SERVICE is {other:?}", project.name)),
        }
    }
    check(problems);
}

#[test]
fn the_dockerfile_builds_the_locked_workspace_and_ships_the_chosen_binary() {
    let stages = dockerfile::stages();
    let [builder, runtime] = stages.as_slice() else {
        panic!(
            "expected a build stage and a runtime stage, found {} stages",
            stages.len()
        );
    };
    let build = builder
        .all("RUN")
        .into_iter()
        .find(|run| run.contains("cargo build"))
        .expect("the build stage runs `cargo build`");
    for flag in ["--release", "--locked"] {
        assert!(
            build.contains(flag),
            "`cargo build` without {flag}: {build}"
        );
    }
    for narrowing in [" -p ", "--package", "--bin ", "--bins"] {
        assert!(
            !build.contains(narrowing),
            "the build must cover the whole workspace, not {narrowing:?}: {build}"
        );
    }

    // A build argument is visible only in the stage that declares it.
    assert!(
        runtime
            .all("ARG")
            .iter()
            .any(|arg| arg.split('=').next() == Some("SERVICE")),
        "the runtime stage does not declare ARG SERVICE"
    );
    let builder_name = stage_name(builder);
    let ships_service = runtime.all("COPY").iter().any(|copy| {
        copy.contains(&format!("--from={builder_name}")) && copy.contains("${SERVICE}")
    });
    assert!(
        ships_service,
        "the runtime stage copies no ${{SERVICE}} binary from {builder_name}"
    );
    let user = runtime.all("USER");
    assert!(
        user.last()
            .is_some_and(|u| !u.starts_with("root") && !u.starts_with('0')),
        "the runtime stage must switch to a non-root USER, has {user:?}"
    );
}

#[test]
fn the_build_context_leaves_out_build_output_and_git_history() {
    let path = repo_root().join(".dockerignore");
    let ignore = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let patterns: Vec<&str> = ignore.lines().map(|l| l.trim().trim_matches('/')).collect();
    for needed in ["target", ".git"] {
        assert!(
            patterns.contains(&needed),
            "{} does not exclude {needed}",
            path.display()
        );
    }
}

fn stage_name(stage: &Stage) -> &str {
    stage
        .from
        .split_whitespace()
        .skip_while(|word| !word.eq_ignore_ascii_case("as"))
        .nth(1)
        .expect("the build stage is named (FROM ... AS name)")
}
