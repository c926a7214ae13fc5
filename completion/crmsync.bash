# bash completion for crmsync(1)                         -*- shell-script -*-
# Install as $(pkg-config --variable=completionsdir bash-completion)/crmsync
# or source it from ~/.bashrc.

# Profile names of the configuration file in use.
_crmsync_profiles()
{
    local cfg=$1 line name
    if [[ -z $cfg ]]; then
        cfg=${CRMSYNC_CONFIG:-}
        [[ -z $cfg ]] && cfg=${XDG_CONFIG_HOME:-$HOME/.config}/crmsync/config
    fi
    cfg=${cfg/#\~/$HOME}
    [[ -r $cfg ]] || return
    while IFS= read -r line; do
        [[ $line =~ ^[[:space:]]*\[[[:space:]]*(profile[[:space:]]+)?([^]]*[^][:space:]])[[:space:]]*\] ]] || continue
        name=${BASH_REMATCH[2]}
        [[ $name == default ]] || printf '%s\n' "$name"
    done < "$cfg"
}

_crmsync_files()
{
    if declare -F _filedir >/dev/null 2>&1; then
        _filedir
    else
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}

_crmsync()
{
    local cur prev words cword split=false
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion -s || return
    else
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        # --opt=value, split by COMP_WORDBREAKS into "--opt" "=" "value".
        if [[ $cur == = ]]; then
            cur=
        elif [[ $prev == = && $cword -ge 2 ]]; then
            prev=${words[cword-2]}
        fi
    fi

    local global_opts='-p --provider --profile --config --base-url --cacert -v --verbose -q --quiet --progress --no-progress -h --help --version'
    local global_args='-p|--provider|--profile|--config|--base-url|--cacert'
    local commands='pull push fields status lists'
    local objects='accounts contacts users leads deals'
    local providers='hubspot salesforce pipedrive zoho sugarcrm copper'

    local pull_opts='--since --state --deleted --raw --map --limit --bulk --format --summary --help'
    local pull_args='--since|--state|--map|--limit|--format|--summary'
    local push_opts='--mode --match --conflict --map --id-map --clear-nulls --dry-run --rejects --batch-size --bulk --concurrency --summary --help'
    local push_args='--mode|--match|--conflict|--map|--id-map|--rejects|--batch-size|--concurrency|--summary'
    local lists_opts='--raw --rejects --help'
    local lists_args='--rejects'

    # Find the command, the config file given, and the command's arguments.
    local i w cmd= cmd_at=0 config=
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        if [[ -z $cmd ]]; then
            case $w in
                --config)
                    [[ ${words[i+1]-} == = ]] && ((i++))
                    config=${words[i+1]-}; ((i++)) ;;
                --config=*) config=${w#*=} ;;
                -p|--provider|--profile|--base-url|--cacert)
                    [[ ${words[i+1]-} == = ]] && ((i++))
                    ((i++)) ;;
                -*) ;;
                *) cmd=$w; cmd_at=$i ;;
            esac
        fi
    done

    # The value of an option.
    case $prev in
        -p|--provider)
            COMPREPLY=($(compgen -W "$providers" -- "$cur")); return ;;
        --profile)
            COMPREPLY=($(compgen -W "$(_crmsync_profiles "$config")" -- "$cur")); return ;;
        --config|--cacert|--state|--map|--id-map|--rejects|--summary)
            _crmsync_files; return ;;
        --base-url|--since|--limit|--batch-size|--concurrency)
            return ;;
    esac
    if [[ -n $cmd ]]; then
        case $prev in
            --mode)
                [[ $cmd == push ]] && COMPREPLY=($(compgen -W 'upsert create update delete' -- "$cur"))
                return ;;
            --conflict)
                [[ $cmd == push ]] && COMPREPLY=($(compgen -W 'overwrite fill newer' -- "$cur"))
                return ;;
            --format)
                [[ $cmd == pull ]] && COMPREPLY=($(compgen -W 'ndjson singer' -- "$cur"))
                return ;;
            --match)
                [[ $cmd == push ]] && COMPREPLY=($(compgen -W 'email domain name' -- "$cur"))
                return ;;
        esac
    fi
    $split && return

    # Before the command: global options, then the commands.
    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi

    # The command's own options, and its positional arguments so far.
    local opts args npos=0
    case $cmd in
        pull) opts=$pull_opts; args=$pull_args ;;
        push) opts=$push_opts; args=$push_args ;;
        lists) opts=$lists_opts; args=$lists_args ;;
        fields|status) opts='--help'; args= ;;
        *) return ;;
    esac
    local pos=()
    for ((i = cmd_at + 1; i < cword; i++)); do
        w=${words[i]}
        case $w in
            --*=*|-) ;;
            -*)
                if [[ -n $args && "|$args|" == *"|$w|"* ]]; then
                    [[ ${words[i+1]-} == = ]] && ((i++))
                    ((i++))
                fi ;;
            *) pos+=("$w") ;;
        esac
    done
    npos=${#pos[@]}

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        [[ ${COMPREPLY-} == *= ]] && compopt -o nospace 2>/dev/null
        return
    fi
    case $cmd in
        pull|push|fields)
            ((npos == 0)) && COMPREPLY=($(compgen -W "$objects" -- "$cur")) ;;
        lists)
            ((npos == 0)) && COMPREPLY=($(compgen -W 'members add remove' -- "$cur")) ;;
    esac
} &&
    complete -F _crmsync crmsync

# ex: filetype=sh
