//! A plan's problems said once: one variable missing for many targets is one problem that
//! names them all, and a long help repeated word for word is shown only the first time.

use crate::diagnostic::{Code, Diagnostic};

/// Targets named in one grouped problem, before "and N more".
const NAMED: usize = 10;

/// Merges `missing_token` problems with the same message (the same variable, unset or empty)
/// into the first, which then says which targets need it; drops the help of any later problem
/// whose help is the same as an earlier one's (the list of template variables, once).
pub(super) fn said_once(problems: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut kept: Vec<(Diagnostic, Vec<String>)> = Vec::with_capacity(problems.len());
    let mut helps: Vec<String> = Vec::new();
    for mut problem in problems {
        if problem.code == Code::MissingToken {
            let target = target_of(&problem.path);
            if let Some((_, targets)) = kept
                .iter_mut()
                .find(|(k, _)| k.code == Code::MissingToken && k.message == problem.message)
            {
                targets.extend(target);
                continue;
            }
            kept.push((problem, target.into_iter().collect()));
            continue;
        }
        if let Some(help) = &problem.help {
            if helps.contains(help) {
                problem.help = None;
            } else {
                helps.push(help.clone());
            }
        }
        kept.push((problem, Vec::new()));
    }
    kept.into_iter()
        .map(|(mut problem, targets)| {
            if targets.len() > 1 {
                let mut named = targets[..targets.len().min(NAMED)].join(", ");
                if targets.len() > NAMED {
                    named.push_str(&format!(" and {} more", targets.len() - NAMED));
                }
                problem.message = format!("{}; needed by {named}", problem.message);
            }
            problem
        })
        .collect()
}

/// `targets.NAME.token_env` → `NAME`.
fn target_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("targets.")?;
    let (name, _) = rest.rsplit_once('.')?;
    Some(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing(target: &str, env: &str) -> Diagnostic {
        Diagnostic::error(
            Code::MissingToken,
            format!("targets.{target}.token_env"),
            format!("environment variable `{env}` is not set"),
        )
        .with_help(format!("set {env}"))
    }

    #[test]
    fn one_variable_missing_for_several_targets_is_one_problem_naming_them() {
        let said = said_once(vec![
            missing("a", "T"),
            missing("b", "T"),
            missing("c", "OTHER"),
            missing("d", "T"),
        ]);
        let messages: Vec<&str> = said.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "environment variable `T` is not set; needed by a, b, d",
                "environment variable `OTHER` is not set",
            ]
        );
    }
}
