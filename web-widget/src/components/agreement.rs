//! Agreement between annotators per label: Cohen's kappa for two annotators,
//! Krippendorff's alpha for more, as the component computed them.

use callscope_api_types::{LabelAgreement, Schema};
use yew::prelude::*;

use crate::annotate::label_name;
use crate::api::Api;
use crate::components::load::{FailureNotice, Load, use_load};

#[derive(Properties, PartialEq)]
pub struct AgreementProps {
    pub api: Api,
    /// Names the labels; ids show until it loads.
    pub schema: Load<Schema>,
}

#[component]
pub fn Agreement(props: &AgreementProps) -> Html {
    let agreement = use_load(props.api.clone(), |api| async move { api.agreement().await });
    let schema = match &props.schema {
        Load::Loaded(schema) => (**schema).clone(),
        _ => Schema::default(),
    };

    let body = match &agreement {
        Load::Loading => html! { <tr class="callscope-placeholder-row"><td colspan="6">{ "Loading agreement…" }</td></tr> },
        Load::Failed(failure) => html! { <tr><td colspan="6"><FailureNotice failure={failure.clone()} /></td></tr> },
        Load::Loaded(rows) if rows.is_empty() => html! {
            <tr class="callscope-placeholder-row"><td colspan="6">{ "No label has been set by two annotators on the same item yet." }</td></tr>
        },
        Load::Loaded(rows) => rows.iter().map(|row| agreement_row(row, &schema)).collect::<Html>(),
    };

    html! {
        <section class="callscope-list" data-testid="agreement">
            <header class="callscope-toolbar">
                <h2 class="callscope-heading">{ "Agreement between annotators" }</h2>
                <span class="callscope-muted">{ "Kappa and alpha are 1 for full agreement and 0 for agreement at chance level." }</span>
            </header>
            <div class="callscope-table-wrap">
                <table class="callscope-table">
                    <thead>
                        <tr>
                            <th>{ "Label" }</th>
                            <th class="callscope-num">{ "Annotators" }</th>
                            <th class="callscope-num">{ "Items" }</th>
                            <th class="callscope-num" title="Two annotators">{ "Cohen's kappa" }</th>
                            <th class="callscope-num" title="Any number of annotators">{ "Krippendorff's alpha" }</th>
                            <th class="callscope-num">{ "Observed agreement" }</th>
                        </tr>
                    </thead>
                    <tbody>{ body }</tbody>
                </table>
            </div>
        </section>
    }
}

fn agreement_row(row: &LabelAgreement, schema: &Schema) -> Html {
    html! {
        <tr key={row.label_id.clone()} data-testid="agreement-row" data-label-id={row.label_id.clone()}>
            <td>{ label_name(schema, &row.label_id) }</td>
            <td class="callscope-num">{ row.annotators }</td>
            <td class="callscope-num" data-testid="agreement-items">{ row.items }</td>
            <td class="callscope-num" data-testid="agreement-kappa">{ coefficient(row.cohen_kappa) }</td>
            <td class="callscope-num" data-testid="agreement-alpha">{ coefficient(row.krippendorff_alpha) }</td>
            <td class="callscope-num">{ coefficient(row.observed_agreement) }</td>
        </tr>
    }
}

/// Formats an agreement coefficient with three decimals, or a dash when there were
/// too few items to compute it.
pub fn coefficient(value: Option<f64>) -> String {
    value.map_or_else(|| String::from("–"), |value| format!("{value:.3}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coefficient_three_decimals_or_dash() {
        assert_eq!(coefficient(Some(0.6666)), "0.667");
        assert_eq!(coefficient(Some(-0.25)), "-0.250");
        assert_eq!(coefficient(None), "–");
    }
}
