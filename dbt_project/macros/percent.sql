{% macro percent(n, denominator) -%}
    {#- 100 * n / denominator rounded half up to one decimal, null when the denominator is 0.
        Computed as floor((2000 n + d) / 2d) / 10: exact for integer counts, where round() on a
        double would turn 12.45 (= 249/2000) into 12.4. -#}
    case
        when {{ denominator }} > 0 then
            cast(
                floor(cast(2000 * {{ n }} + {{ denominator }} as {{ type_double() }}) / (2 * {{ denominator }})) / 10
                as decimal(4, 1)
            )
    end
{%- endmacro %}
